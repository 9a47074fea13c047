import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { EVENT_COLUMNS, type EventRow } from '@orderflow/contracts';
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

interface ReadModelRow {
  order_id: string;
  status: string;
  version: number;
  amount: number;
  refunded: boolean;
  cancellation_reason: string | null;
}

interface LedgerRow {
  order_id: string;
  customer_id: string;
  kind: string;
  amount_cents: number;
}

/** What the checker read back, by order. */
interface Facts {
  events: Map<string, EventRow[]>;
  readModel: Map<string, ReadModelRow>;
  ledger: Map<string, LedgerRow[]>;
}

/** Collects violations (the first 200) and counts. */
class Verdict {
  readonly violations: string[] = [];
  readonly counts: Record<string, number> = {};
  v(msg: string): void {
    if (this.violations.length < 200) this.violations.push(msg);
  }
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
}

const groupBy = <T>(rows: T[], key: (r: T) => string): Map<string, T[]> => {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
};

async function readFacts(
  es: pg.Client,
  pay: pg.Client,
  query: pg.Client,
  orders: AcceptedOrder[],
): Promise<Facts> {
  const ids = orders.map((o) => o.orderId);
  const rows = await es.query<EventRow>(
    `SELECT ${EVENT_COLUMNS}
     FROM events WHERE stream_id = ANY($1) ORDER BY stream_id, version`,
    [orders.map((o) => orderStreamId(o.orderId))],
  );
  const readModel = await query.query<ReadModelRow>(
    'SELECT order_id, status, version, amount, refunded, cancellation_reason FROM orders WHERE order_id = ANY($1::UUID[])',
    [ids],
  );
  const ledger = await pay.query<LedgerRow>(
    'SELECT order_id, customer_id, kind, amount_cents FROM ledger WHERE order_id = ANY($1::UUID[])',
    [ids],
  );
  return {
    events: groupBy(rows.rows, (r) => r.stream_id),
    readModel: new Map(readModel.rows.map((r) => [r.order_id, r])),
    ledger: groupBy(ledger.rows, (l) => l.order_id),
  };
}

/** No version gap, no duplicate version, exactly one final state, and no approval against the intent. */
function checkStream(o: AcceptedOrder, events: EventRow[], out: Verdict) {
  const types = events.map((e) => e.event_type);
  const n = (t: string): number => types.filter((x) => x === t).length;
  events.forEach((e, i) => {
    if (e.version !== i)
      out.v(`order ${o.orderId}: version ${e.version} at position ${i} (gap or duplicate)`);
  });
  const finals = n('order-approved') + n('order-cancelled');
  if (finals !== 1) out.v(`order ${o.orderId}: ${finals} final events (${types.join(', ')})`);
  const approved = n('order-approved') === 1 && n('order-cancelled') === 0;
  const cancelled = n('order-cancelled') === 1;
  if (approved) out.count('approved');
  if (cancelled) out.count('cancelled');
  // Safety of the intent: a declined or rejected order is never approved.
  if (approved && o.intent !== 'approve')
    out.v(`order ${o.orderId}: meant to be ${o.intent}d but approved`);
  return { n, approved, cancelled };
}

/** The ledger rows of an order agree with its debit events and its amount. */
function checkLedger(o: AcceptedOrder, debits: number, orderLedger: LedgerRow[], out: Verdict) {
  const ledgerDebits = orderLedger.filter((l) => l.kind === 'debit');
  const ledgerCredits = orderLedger.filter((l) => l.kind === 'credit');
  if (ledgerDebits.length !== debits)
    out.v(`order ${o.orderId}: ${ledgerDebits.length} ledger debits for ${debits} debit events`);
  if (ledgerDebits.some((l) => Number(l.amount_cents) !== o.amount))
    out.v(`order ${o.orderId}: ledger debit differs from the order amount ${o.amount}`);
  if (ledgerCredits.some((l) => Number(l.amount_cents) !== -o.amount))
    out.v(`order ${o.orderId}: ledger credit differs from minus the order amount ${o.amount}`);
  return ledgerCredits.length;
}

/** One debit at most, matching the ledger; a cancelled paid order is refunded exactly once. */
function checkMoney(
  o: AcceptedOrder,
  stream: ReturnType<typeof checkStream>,
  orderLedger: LedgerRow[],
  out: Verdict,
): void {
  const { n, approved, cancelled } = stream;
  const debits = n('order-payment-debited');
  const refunds = n('order-payment-refunded');
  if (debits > 1) out.v(`order ${o.orderId}: ${debits} debit events`);
  const credits = checkLedger(o, debits, orderLedger, out);
  const paidAndCancelled = debits === 1 && cancelled;
  if (paidAndCancelled && (refunds !== 1 || credits !== 1))
    out.v(
      `order ${o.orderId}: cancelled after payment but refunded ${refunds} times (ledger credits ${credits})`,
    );
  if (approved && (refunds > 0 || credits > 0)) out.v(`order ${o.orderId}: approved and refunded`);
  if (debits === 0 && refunds > 0) out.v(`order ${o.orderId}: refunded without a debit`);
  if (paidAndCancelled) out.count('refunded');
}

/** The read model equals the fold of the order's events. */
function checkReadModel(
  o: AcceptedOrder,
  events: EventRow[],
  row: ReadModelRow | undefined,
  out: Verdict,
) {
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
    out.v(
      `order ${o.orderId}: events do not fold: ${err instanceof Error ? err.message : String(err)}`,
    );
    return;
  }
  if (!row || !expected) {
    out.v(`order ${o.orderId}: missing from the read model`);
    return;
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
    out.v(`order ${o.orderId}: read model ${JSON.stringify(got)} != fold ${JSON.stringify(want)}`);
}

function checkOrder(o: AcceptedOrder, facts: Facts, out: Verdict): void {
  const events = facts.events.get(orderStreamId(o.orderId)) ?? [];
  if (events.length === 0) {
    out.v(`order ${o.orderId}: accepted but its stream is empty`);
    return;
  }
  const stream = checkStream(o, events, out);
  checkMoney(o, stream, facts.ledger.get(o.orderId) ?? [], out);
  checkReadModel(o, events, facts.readModel.get(o.orderId), out);
}

/**
 * Balances: never below zero, and the ledger matches the payments recorded. The ledger is signed
 * (a debit adds its amount, a credit subtracts it); the balance is the credit limit minus the
 * ledger's sum: never negative, never refunding more than was debited.
 */
async function checkBalances(pay: pg.Client, out: Verdict): Promise<void> {
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
    if (balance < 0) out.v(`customer ${b.customer_id}: balance ${balance} below zero`);
    if (Number(b.refunded) > Number(b.debited))
      out.v(`customer ${b.customer_id}: refunded ${b.refunded} more than debited ${b.debited}`);
  }
  const paymentsVsLedger = await pay.query<{ order_id: string }>(
    `SELECT p.order_id FROM payments p LEFT JOIN ledger l ON l.order_id = p.order_id AND l.kind = 'debit'
     WHERE p.outcome = 'debited' AND l.order_id IS NULL`,
  );
  for (const r of paymentsVsLedger.rows)
    out.v(`order ${r.order_id}: debited payment without a ledger debit`);
  out.counts['accounts'] = balances.length;
}

/** No stream anywhere has a version gap. */
async function checkGaps(es: pg.Client, out: Verdict): Promise<void> {
  const gaps = await es.query<{ stream_id: string }>(
    'SELECT stream_id FROM events GROUP BY stream_id HAVING MAX(version) + 1 <> COUNT(*) OR MIN(version) <> 0',
  );
  for (const g of gaps.rows) out.v(`stream ${g.stream_id}: version gap`);
}

/** The Nats-Msg-Id of every message of the stream. */
async function publishedIds(jsm: JetStreamManager, stream: string) {
  const info = await jsm.streams.info(stream);
  const published = new Set<string>();
  for (
    let seq = info.state.first_seq;
    info.state.messages > 0 && seq <= info.state.last_seq;
    seq++
  ) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    const id = m?.header.get('Nats-Msg-Id');
    if (id) published.add(id);
  }
  return { published, messages: info.state.messages };
}

/** Every stored event is in JetStream. */
async function checkPublished(es: pg.Client, input: CheckInput, out: Verdict): Promise<void> {
  const allIds = (await es.query<{ event_id: string }>('SELECT event_id FROM events')).rows.map(
    (r) => r.event_id,
  );
  out.counts['events'] = allIds.length;
  // The URL may carry credentials (the local runner's and the container run's admin user).
  const nc = await connect(natsConnectOptions(input.natsUrl));
  try {
    const jsm = await jetstreamManager(nc);
    const { published, messages } = await publishedIds(jsm, input.stream);
    out.counts['jetstream_messages'] = messages;
    const missing = allIds.filter((id) => !published.has(id));
    for (const id of missing.slice(0, 20))
      out.v(`event ${id}: in the event store but not in JetStream`);
    if (missing.length > 20)
      out.v(`... and ${missing.length - 20} more events missing from JetStream`);
    out.counts['dead_letters'] = await jsm.streams
      .info(`${input.stream}_DLQ`)
      .then((i) => i.state.messages)
      .catch(() => 0);
  } finally {
    await nc.close();
  }
}

/**
 * The Jepsen-style checker: every accepted order id was recorded by the client; everything is
 * read back from the event store, the read model, the payment ledger and JetStream, and the
 * invariants are checked. Returns every violation (empty when the run was correct).
 */
export async function check(input: CheckInput): Promise<CheckResult> {
  const out = new Verdict();
  out.counts['accepted'] = input.orders.length;
  const es = new pg.Client({ connectionString: input.databases.eventstore });
  const pay = new pg.Client({ connectionString: input.databases.payment });
  const query = new pg.Client({ connectionString: input.databases.query });
  await Promise.all([es.connect(), pay.connect(), query.connect()]);
  try {
    const facts = await readFacts(es, pay, query, input.orders);
    for (const o of input.orders) checkOrder(o, facts, out);
    await checkBalances(pay, out);
    await checkGaps(es, out);
    await checkPublished(es, input, out);
  } finally {
    await Promise.all([es.end(), pay.end(), query.end()]);
  }
  return { violations: out.violations, counts: out.counts };
}
