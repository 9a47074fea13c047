import { deterministicEventId } from '@orderflow/events';
import {
  withTransaction,
  type Pool,
  type PoolClient,
  type RetryOptions,
} from '@orderflow/platform';
import {
  decidePayment,
  decideRefund,
  type Account,
  type OrderToPay,
  type PaymentDecision,
  type PaymentRecord,
  type RefundDecision,
  type RefundRecord,
} from '../domain/payment';

interface PaymentRow {
  order_id: string;
  payment_id: string;
  customer_id: string;
  amount_cents: number;
  outcome: 'debited' | 'declined';
  reason: string | null;
}

const toPayment = (r: PaymentRow): PaymentRecord =>
  r.outcome === 'debited'
    ? {
        outcome: 'debited',
        orderId: r.order_id,
        paymentId: r.payment_id,
        customerId: r.customer_id,
        amount: r.amount_cents,
      }
    : {
        outcome: 'declined',
        orderId: r.order_id,
        paymentId: r.payment_id,
        customerId: r.customer_id,
        amount: r.amount_cents,
        reason: r.reason ?? '',
      };

/** The payment and, for a debit, its ledger row, in one statement. */
async function recordPayment(c: PoolClient, p: PaymentRecord): Promise<void> {
  await c.query({
    name: 'payment-record',
    text: `WITH payment AS (
             INSERT INTO payments (order_id, payment_id, customer_id, amount_cents, outcome, reason)
             VALUES ($1, $2, $3, $4, $5, $6)
           )
           INSERT INTO ledger (entry_id, customer_id, order_id, kind, amount_cents)
           SELECT $7, $3, $1, 'debit', $4 WHERE $5 = 'debited'`,
    values: [
      p.orderId,
      p.paymentId,
      p.customerId,
      p.amount,
      p.outcome,
      p.outcome === 'declined' ? p.reason : null,
      deterministicEventId('ledger', p.orderId, 'debit'),
    ],
  });
}

/** Accounts, payments, refunds and the ledger in the payment service's own database. */
export class PgPayments {
  constructor(
    private readonly pool: Pool,
    private readonly retry: Pick<RetryOptions, 'onRetry'> = {},
  ) {}

  /**
   * In one local transaction: create the account on first sight, lock it (two debits of one
   * customer queue up here, so they cannot overdraw), and record the decision with its ledger row.
   * A payment already recorded for the order is returned as it is.
   */
  async pay(order: OrderToPay, defaultCreditCents: number): Promise<PaymentDecision> {
    // Three statements between BEGIN and COMMIT (there were six): lock, read, write.
    return withTransaction(
      this.pool,
      async (c) => {
        // Creates the account on first sight and locks it either way (the no-op update takes the
        // row lock): two debits of one customer queue up here, so they cannot overdraw.
        const locked = await c.query<{ credit_limit_cents: number }>({
          name: 'payment-lock-account',
          text: `INSERT INTO accounts (customer_id, credit_limit_cents) VALUES ($1, $2)
                 ON CONFLICT (customer_id) DO UPDATE SET credit_limit_cents = accounts.credit_limit_cents
                 RETURNING credit_limit_cents`,
          values: [order.customerId, defaultCreditCents],
        });
        // After the lock, so this statement's snapshot holds the ledger rows of the debit before it.
        const read = await c.query<PaymentRow & { spent: number }>({
          name: 'payment-balance-and-payment',
          text: `SELECT (SELECT COALESCE(SUM(amount_cents), 0)::INT8 FROM ledger WHERE customer_id = $1) AS spent,
                        p.order_id, p.payment_id, p.customer_id, p.amount_cents, p.outcome, p.reason
                   FROM (SELECT 1) AS one LEFT JOIN payments p ON p.order_id = $2`,
          values: [order.customerId, order.orderId],
        });
        const limit = locked.rows[0]?.credit_limit_cents;
        const r = read.rows[0];
        if (limit === undefined || !r) throw new Error(`account ${order.customerId} vanished`);
        const account: Account = {
          customerId: order.customerId,
          creditLimitCents: limit,
          balanceCents: limit - r.spent,
        };
        const existing = r.order_id ? toPayment(r) : undefined;
        const decision = decidePayment(order, account, existing);
        if (decision.kind !== 'already-recorded') await recordPayment(c, decision.payment);
        return decision;
      },
      this.retry,
    );
  }

  /** Credits a debited order back once, in one local transaction with its ledger row. */
  async refund(orderId: string): Promise<RefundDecision> {
    return withTransaction(
      this.pool,
      async (c) => {
        const payment = await this.payment(c, orderId);
        // Lock the account before looking at refunds, so that two deliveries of one request queue up.
        if (payment) await this.lockAccount(c, payment.customerId);
        const existing = await this.refundOf(c, orderId);
        const decision = decideRefund(orderId, payment, existing);
        if (decision.kind === 'refund') {
          const r = decision.refund;
          await c.query(
            'INSERT INTO refunds (order_id, payment_id, customer_id, amount_cents) VALUES ($1, $2, $3, $4)',
            [r.orderId, r.paymentId, r.customerId, r.amount],
          );
          await c.query(
            `INSERT INTO ledger (entry_id, customer_id, order_id, kind, amount_cents) VALUES ($1, $2, $3, 'credit', $4)`,
            [
              deterministicEventId('ledger', r.orderId, 'credit'),
              r.customerId,
              r.orderId,
              -r.amount,
            ],
          );
        }
        return decision;
      },
      this.retry,
    );
  }

  /** The account with its balance, or undefined when the customer was never seen. */
  async account(customerId: string): Promise<Account | undefined> {
    const r = await this.pool.query<{ credit_limit_cents: number; spent: number }>(
      `SELECT a.credit_limit_cents, COALESCE((SELECT SUM(amount_cents) FROM ledger l WHERE l.customer_id = a.customer_id), 0)::INT8 AS spent
       FROM accounts a WHERE a.customer_id = $1`,
      [customerId],
    );
    const row = r.rows[0];
    return row
      ? {
          customerId,
          creditLimitCents: row.credit_limit_cents,
          balanceCents: row.credit_limit_cents - row.spent,
        }
      : undefined;
  }

  private async lockAccount(c: PoolClient, customerId: string): Promise<Account> {
    const r = await c.query<{ credit_limit_cents: number }>(
      'SELECT credit_limit_cents FROM accounts WHERE customer_id = $1 FOR UPDATE',
      [customerId],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`account ${customerId} vanished`);
    const sum = await c.query<{ spent: number }>(
      'SELECT COALESCE(SUM(amount_cents), 0)::INT8 AS spent FROM ledger WHERE customer_id = $1',
      [customerId],
    );
    const spent = sum.rows[0]?.spent ?? 0;
    return {
      customerId,
      creditLimitCents: row.credit_limit_cents,
      balanceCents: row.credit_limit_cents - spent,
    };
  }

  private async payment(c: PoolClient, orderId: string): Promise<PaymentRecord | undefined> {
    const r = await c.query<PaymentRow>(
      'SELECT order_id, payment_id, customer_id, amount_cents, outcome, reason FROM payments WHERE order_id = $1',
      [orderId],
    );
    return r.rows[0] ? toPayment(r.rows[0]) : undefined;
  }

  private async refundOf(c: PoolClient, orderId: string): Promise<RefundRecord | undefined> {
    const r = await c.query<{
      order_id: string;
      payment_id: string;
      customer_id: string;
      amount_cents: number;
    }>('SELECT order_id, payment_id, customer_id, amount_cents FROM refunds WHERE order_id = $1', [
      orderId,
    ]);
    const row = r.rows[0];
    return row
      ? {
          orderId: row.order_id,
          paymentId: row.payment_id,
          customerId: row.customer_id,
          amount: row.amount_cents,
        }
      : undefined;
  }
}
