import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { deterministicEventId, orderStreamId } from '@orderflow/events';
import { waitFor } from '@orderflow/testkit';
import {
  order,
  readStream,
  startPayment,
  toEnvelope,
  waitForEvent,
  type PaymentUnderTest,
} from './harness';

let sut: PaymentUnderTest;
let db: pg.Pool;
let nc: NatsConnection;

beforeAll(async () => {
  sut = await startPayment();
  db = new pg.Pool({ connectionString: sut.databaseUrl, max: 2 });
  nc = await connect({ servers: sut.nats.url });
});

afterAll(async () => {
  await nc.close();
  await db.end();
  await sut.stop();
});

/** Appends the order's `order-created` as the order API would. */
async function appendOrderCreated(o: ReturnType<typeof order>, metadata: Record<string, string>) {
  await sut.client.appendToStream({
    streamId: orderStreamId(o.orderId),
    expectedVersion: -1,
    events: [
      { eventId: randomUUID(), eventType: 'order-created', data: JSON.stringify(o), metadata },
    ],
  });
}

async function createOrder(customerId: string, amount: number): Promise<string> {
  const o = order(customerId, amount);
  await appendOrderCreated(o, { correlation_id: o.orderId });
  return o.orderId;
}

const count = async (sql: string, params: unknown[]): Promise<number> =>
  Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);

test('when a new customer orders, then the account is created with the default credit, debited once, and order-payment-debited is appended', async () => {
  const customerId = `c-${randomUUID()}`;
  const orderId = await createOrder(customerId, 1900);
  const events = await waitForEvent(sut.client, orderStreamId(orderId), 'order-payment-debited');
  expect(events.map((e) => e.eventType)).toEqual(['order-created', 'order-payment-debited']);
  const debited = events[1]!;
  expect(debited.eventId).toBe(deterministicEventId('payment', orderId));
  expect(JSON.parse(debited.data)).toMatchObject({ orderId, customerId, amount: 1900 });
  expect(debited.metadata).toMatchObject({
    correlation_id: orderId,
    causation_id: events[0]!.eventId,
    producer: 'payment',
    schema_version: '1',
  });
  expect(await sut.app.payments.account(customerId)).toEqual({
    customerId,
    creditLimitCents: 100_000,
    balanceCents: 98_100,
  });
  expect(await count('SELECT count(*) AS n FROM ledger WHERE order_id = $1', [orderId])).toBe(1);
});

test('when the amount exceeds the balance, then order-payment-declined is appended with the reason and nothing is debited', async () => {
  const customerId = `c-${randomUUID()}`;
  const orderId = await createOrder(customerId, 100_001);
  const events = await waitForEvent(sut.client, orderStreamId(orderId), 'order-payment-declined');
  expect(JSON.parse(events[1]!.data)).toMatchObject({
    reason: 'insufficient credit: balance 100000, amount 100001',
  });
  expect(await count('SELECT count(*) AS n FROM ledger WHERE customer_id = $1', [customerId])).toBe(
    0,
  );
  expect((await sut.app.payments.account(customerId))?.balanceCents).toBe(100_000);
});

test('when the same order-created is delivered again (handler twice, and twice more over NATS), then nothing changes', async () => {
  const customerId = `c-${randomUUID()}`;
  const orderId = await createOrder(customerId, 2500);
  const streamId = orderStreamId(orderId);
  const created = toEnvelope(
    (await waitForEvent(sut.client, streamId, 'order-payment-debited'))[0]!,
  );

  expect(await sut.app.handle(created)).toBe('duplicate');
  expect(await sut.app.handle(created)).toBe('duplicate');

  const js = jetstream(nc);
  const body = Buffer.from(JSON.stringify(created));
  let lastSeq = 0;
  for (let i = 0; i < 2; i++) {
    const h = headers();
    h.set('Orderflow-Event-Type', created.eventType);
    lastSeq = (
      await js.publish('orderflow.events.order-created', body, { msgID: randomUUID(), headers: h })
    ).seq;
  }
  const jsm = await jetstreamManager(nc);
  await waitFor('the payment consumer to ack the redeliveries', async () => {
    const info = await jsm.consumers.info('ORDERS', 'payment');
    return info.ack_floor.stream_seq >= lastSeq && info.num_ack_pending === 0;
  });

  expect((await readStream(sut.client, streamId)).map((e) => e.eventType)).toEqual([
    'order-created',
    'order-payment-debited',
  ]);
  expect(await count('SELECT count(*) AS n FROM ledger WHERE order_id = $1', [orderId])).toBe(1);
  expect(await count('SELECT count(*) AS n FROM payments WHERE order_id = $1', [orderId])).toBe(1);
  expect((await sut.app.payments.account(customerId))?.balanceCents).toBe(97_500);
});

test('when a payment was recorded but its append was lost in a crash, then the next delivery appends the recorded outcome once', async () => {
  const customerId = `c-${randomUUID()}`;
  const o = order(customerId, 1200);
  // The local transaction committed; the process died before the append.
  expect((await sut.app.payments.pay(o, 100_000)).kind).toBe('debit');
  await appendOrderCreated(o, {});
  const events = await waitForEvent(sut.client, orderStreamId(o.orderId), 'order-payment-debited');
  expect(events.map((e) => e.eventType)).toEqual(['order-created', 'order-payment-debited']);
  expect(await count('SELECT count(*) AS n FROM ledger WHERE order_id = $1', [o.orderId])).toBe(1);
  expect((await sut.app.payments.account(customerId))?.balanceCents).toBe(98_800);
});

test('when a refund is requested twice, then the account is credited once and order-payment-refunded appears once', async () => {
  const customerId = `c-${randomUUID()}`;
  const orderId = await createOrder(customerId, 4000);
  const streamId = orderStreamId(orderId);
  await waitForEvent(sut.client, streamId, 'order-payment-debited');
  await sut.client.appendToStream({
    streamId,
    expectedVersion: 1,
    events: [
      {
        eventId: deterministicEventId('refund-requested', orderId),
        eventType: 'order-refund-requested',
        data: JSON.stringify({ orderId, reason: 'restaurant-rejected' }),
        metadata: { correlation_id: orderId },
      },
    ],
  });
  const events = await waitForEvent(sut.client, streamId, 'order-payment-refunded');
  const request = toEnvelope(events.find((e) => e.eventType === 'order-refund-requested')!);
  expect(await sut.app.handle(request)).toBe('duplicate');

  const after = await readStream(sut.client, streamId);
  expect(after.filter((e) => e.eventType === 'order-payment-refunded')).toHaveLength(1);
  expect(
    JSON.parse(after.find((e) => e.eventType === 'order-payment-refunded')!.data),
  ).toMatchObject({ orderId, customerId, amount: 4000 });
  expect(
    await count(`SELECT count(*) AS n FROM ledger WHERE order_id = $1 AND kind = 'credit'`, [
      orderId,
    ]),
  ).toBe(1);
  expect((await sut.app.payments.account(customerId))?.balanceCents).toBe(100_000);
});

test('when five debits of one customer run at once, then only as many as the credit covers are debited', async () => {
  const customerId = `c-${randomUUID()}`;
  const envelopes = Array.from({ length: 5 }, () => {
    const o = order(customerId, 30_000);
    return {
      eventId: randomUUID(),
      eventType: 'order-created',
      streamId: orderStreamId(o.orderId),
      version: 0,
      data: o,
      metadata: {},
      createdAt: new Date().toISOString(),
    };
  });
  await Promise.all(envelopes.map((e) => sut.app.handle(e)));
  expect(
    await count(
      `SELECT count(*) AS n FROM payments WHERE customer_id = $1 AND outcome = 'debited'`,
      [customerId],
    ),
  ).toBe(3);
  expect(
    await count(
      `SELECT count(*) AS n FROM payments WHERE customer_id = $1 AND outcome = 'declined'`,
      [customerId],
    ),
  ).toBe(2);
  expect((await sut.app.payments.account(customerId))?.balanceCents).toBe(10_000);
});

test('when the runtime config sets payment.defaultCreditCents, then new accounts get that credit', async () => {
  writeFileSync(sut.runtimeFile, JSON.stringify({ payment: { defaultCreditCents: 500 } }));
  const customerId = `c-${randomUUID()}`;
  await waitFor(
    'the runtime config to apply',
    async () => {
      const o = order(`probe-${randomUUID()}`, 1);
      await sut.app.handle({
        eventId: randomUUID(),
        eventType: 'order-created',
        streamId: orderStreamId(o.orderId),
        version: 0,
        data: o,
        metadata: {},
        createdAt: '',
      });
      return (await sut.app.payments.account(o.customerId))?.creditLimitCents === 500;
    },
    { timeoutMs: 15_000, intervalMs: 300 },
  );
  const orderId = await createOrder(customerId, 600);
  await waitForEvent(sut.client, orderStreamId(orderId), 'order-payment-declined');
  expect((await sut.app.payments.account(customerId))?.creditLimitCents).toBe(500);
});

test('when the service runs, then /readyz reports database, nats and consumer ready and /metrics counts outcomes', async () => {
  const ready = await fetch(`http://127.0.0.1:${sut.app.opsPort}/readyz`);
  expect(ready.status).toBe(200);
  expect(
    ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks,
  ).toMatchObject({
    database: { ok: true },
    nats: { ok: true },
    consumer: { ok: true },
  });
  const metrics = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
  expect(metrics).toMatch(/orderflow_payments_total\{[^}]*outcome="debited"[^}]*\} [1-9]/);
  expect(metrics).toMatch(/orderflow_refunds_total\{[^}]*\} 1\b/);
});
