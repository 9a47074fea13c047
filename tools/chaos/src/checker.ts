import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { natsConnectOptions } from '@orderflow/platform';
import { orderStreamId, parseStoredEvent } from '@orderflow/events';
import { foldOrder, type VersionedEvent } from '@orderflow/order-query-worker';
import type { AcceptedOrder } from './workload';

export interface CheckInput {
  orders: AcceptedOrder[];
  databases: { eventstore: string; payment: string; query: string };
  natsUrl: string;
  stream: string;
}

export interface CheckResult {
  violations: string[];
  counts: Record<string, number>;
}

interface EventRow {
  event_id: string;
  stream_id: string;
  version: number;
  event_type: string;
  data: string;
  metadata: Record<string, string>;
  created_at: Date;
}

/**
 * The Jepsen-style checker: every accepted order id was recorded by the client; everything is
 * read back from the event store, the read model, the payment ledger and JetStream, and the
 * invariants are checked. Returns every violation (empty when the run was correct).
 */
export async function check(input: CheckInput): Promise<CheckResult> {
  const violations: string[] = [];
  const v = (msg: string): void => {
    if (violations.length < 200) violations.push(msg);
  };
  const es = new pg.Client({ connectionString: input.databases.eventstore });
  const pay = new pg.Client({ connectionString: input.databases.payment });
  const query = new pg.Client({ connectionString: input.databases.query });
  await Promise.all([es.connect(), pay.connect(), query.connect()]);
  const counts: Record<string, number> = { accepted: input.orders.length };
  try {
    const streamIds = input.orders.map((o) => orderStreamId(o.orderId));
    const rows = (
      await es.query<EventRow>(
        `SELECT event_id, stream_id, version, event_type, data, metadata, created_at
         FROM events WHERE stream_id = ANY($1) ORDER BY stream_id, version`,
        [streamIds],
      )
    ).rows;
    const byStream = new Map<string, EventRow[]>();
    for (const r of rows) byStream.set(r.stream_id, [...(byStream.get(r.stream_id) ?? []), r]);

    const readModel = new Map(
      (
        await query.query<{
          order_id: string;
          status: string;
          version: number;
          amount: number;
          refunded: boolean;
          cancellation_reason: string | null;
        }>(
          'SELECT order_id, status, version, amount, refunded, cancellation_reason FROM orders WHERE order_id = ANY($1::UUID[])',
          [input.orders.map((o) => o.orderId)],
        )
      ).rows.map((r) => [r.order_id, r]),
    );
    const ledger = (
      await pay.query<{
        order_id: string;
        customer_id: string;
        kind: string;
        amount_cents: number;
      }>(
        'SELECT order_id, customer_id, kind, amount_cents FROM ledger WHERE order_id = ANY($1::UUID[])',
        [input.orders.map((o) => o.orderId)],
      )
    ).rows;
    const ledgerByOrder = new Map<string, typeof ledger>();
    for (const l of ledger)
      ledgerByOrder.set(l.order_id, [...(ledgerByOrder.get(l.order_id) ?? []), l]);

    for (const o of input.orders) {
      const events = byStream.get(orderStreamId(o.orderId)) ?? [];
      const types = events.map((e) => e.event_type);
      const n = (t: string): number => types.filter((x) => x === t).length;
      if (events.length === 0) {
        v(`order ${o.orderId}: accepted but its stream is empty`);
        continue;
      }
      // No version gap, no duplicate version.
      events.forEach((e, i) => {
        if (e.version !== i)
          v(`order ${o.orderId}: version ${e.version} at position ${i} (gap or duplicate)`);
      });
      // Exactly one final state.
      const finals = n('order-approved') + n('order-cancelled');
      if (finals !== 1) v(`order ${o.orderId}: ${finals} final events (${types.join(', ')})`);
      const approved = n('order-approved') === 1 && n('order-cancelled') === 0;
      const cancelled = n('order-cancelled') === 1;
      if (approved) counts['approved'] = (counts['approved'] ?? 0) + 1;
      if (cancelled) counts['cancelled'] = (counts['cancelled'] ?? 0) + 1;
      // Safety of the intent: a declined or rejected order is never approved.
      if (approved && o.intent !== 'approve')
        v(`order ${o.orderId}: meant to be ${o.intent}d but approved`);
      // One debit at most, matching the ledger; a cancelled paid order is refunded exactly once.
      const debits = n('order-payment-debited');
      const refunds = n('order-payment-refunded');
      const orderLedger = ledgerByOrder.get(o.orderId) ?? [];
      const ledgerDebits = orderLedger.filter((l) => l.kind === 'debit');
      const ledgerCredits = orderLedger.filter((l) => l.kind === 'credit');
      if (debits > 1) v(`order ${o.orderId}: ${debits} debit events`);
      if (ledgerDebits.length !== debits)
        v(`order ${o.orderId}: ${ledgerDebits.length} ledger debits for ${debits} debit events`);
      if (ledgerDebits.some((l) => Number(l.amount_cents) !== o.amount))
        v(`order ${o.orderId}: ledger debit differs from the order amount ${o.amount}`);
      if (ledgerCredits.some((l) => Number(l.amount_cents) !== -o.amount))
        v(`order ${o.orderId}: ledger credit differs from minus the order amount ${o.amount}`);
      if (debits === 1 && cancelled && (refunds !== 1 || ledgerCredits.length !== 1))
        v(
          `order ${o.orderId}: cancelled after payment but refunded ${refunds} times (ledger credits ${ledgerCredits.length})`,
        );
      if (approved && (refunds > 0 || ledgerCredits.length > 0))
        v(`order ${o.orderId}: approved and refunded`);
      if (debits === 0 && refunds > 0) v(`order ${o.orderId}: refunded without a debit`);
      if (debits === 1 && cancelled) counts['refunded'] = (counts['refunded'] ?? 0) + 1;
      // The read model equals the fold of the order's events.
      let expected;
      try {
        expected = foldOrder(
          events.map((e): VersionedEvent => ({
            version: e.version,
            createdAt: e.created_at.toISOString(),
            event: parseStoredEvent(e.event_type, e.data, e.metadata),
          })),
        );
      } catch (err: unknown) {
        v(
          `order ${o.orderId}: events do not fold: ${err instanceof Error ? err.message : String(err)}`,
        );
        continue;
      }
      const row = readModel.get(o.orderId);
      if (!row || !expected) {
        v(`order ${o.orderId}: missing from the read model`);
        continue;
      }
      const got = {
        status: row.status,
        version: Number(row.version),
        amount: Number(row.amount),
        refunded: row.refunded,
        reason: row.cancellation_reason,
      };
      const want = {
        status: expected.status,
        version: expected.version,
        amount: expected.amount,
        refunded: expected.refunded,
        reason: expected.cancellationReason,
      };
      if (JSON.stringify(got) !== JSON.stringify(want))
        v(`order ${o.orderId}: read model ${JSON.stringify(got)} != fold ${JSON.stringify(want)}`);
    }

    // Balances: never below zero, and the ledger matches the payments recorded.
    // The ledger is signed (a debit adds its amount, a credit subtracts it); the balance is the
    // credit limit minus the ledger's sum: never negative, never refunding more than was debited.
    const balances = (
      await pay.query<{
        customer_id: string;
        credit: number;
        ledger_sum: number;
        debited: number;
        refunded: number;
      }>(
        `SELECT a.customer_id, a.credit_limit_cents AS credit,
                COALESCE(SUM(l.amount_cents), 0)::INT8 AS ledger_sum,
                COALESCE(SUM(l.amount_cents) FILTER (WHERE l.kind = 'debit'), 0)::INT8 AS debited,
                COALESCE(-SUM(l.amount_cents) FILTER (WHERE l.kind = 'credit'), 0)::INT8 AS refunded
         FROM accounts a LEFT JOIN ledger l ON l.customer_id = a.customer_id
         GROUP BY a.customer_id, a.credit_limit_cents`,
      )
    ).rows;
    for (const b of balances) {
      const balance = Number(b.credit) - Number(b.ledger_sum);
      if (balance < 0) v(`customer ${b.customer_id}: balance ${balance} below zero`);
      if (Number(b.refunded) > Number(b.debited))
        v(`customer ${b.customer_id}: refunded ${b.refunded} more than debited ${b.debited}`);
    }
    const paymentsVsLedger = await pay.query<{ order_id: string }>(
      `SELECT p.order_id FROM payments p LEFT JOIN ledger l ON l.order_id = p.order_id AND l.kind = 'debit'
       WHERE p.outcome = 'debited' AND l.order_id IS NULL`,
    );
    for (const r of paymentsVsLedger.rows)
      v(`order ${r.order_id}: debited payment without a ledger debit`);
    counts['accounts'] = balances.length;

    // No stream anywhere has a version gap.
    const gaps = await es.query<{ stream_id: string }>(
      'SELECT stream_id FROM events GROUP BY stream_id HAVING MAX(version) + 1 <> COUNT(*) OR MIN(version) <> 0',
    );
    for (const g of gaps.rows) v(`stream ${g.stream_id}: version gap`);

    // Every stored event is in JetStream.
    const allIds = (await es.query<{ event_id: string }>('SELECT event_id FROM events')).rows.map(
      (r) => r.event_id,
    );
    counts['events'] = allIds.length;
    // The URL may carry credentials (the local runner's and the container run's admin user).
    const nc = await connect(natsConnectOptions(input.natsUrl));
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(input.stream);
      const published = new Set<string>();
      for (
        let seq = info.state.first_seq;
        info.state.messages > 0 && seq <= info.state.last_seq;
        seq++
      ) {
        const m = await jsm.streams.getMessage(input.stream, { seq }).catch(() => undefined);
        const id = m?.header.get('Nats-Msg-Id');
        if (id) published.add(id);
      }
      counts['jetstream_messages'] = info.state.messages;
      const missing = allIds.filter((id) => !published.has(id));
      for (const id of missing.slice(0, 20))
        v(`event ${id}: in the event store but not in JetStream`);
      if (missing.length > 20)
        v(`... and ${missing.length - 20} more events missing from JetStream`);
      try {
        counts['dead_letters'] = (await jsm.streams.info(`${input.stream}_DLQ`)).state.messages;
      } catch {
        counts['dead_letters'] = 0;
      }
    } finally {
      await nc.close();
    }
  } finally {
    await Promise.all([es.end(), pay.end(), query.end()]);
  }
  return { violations, counts };
}
