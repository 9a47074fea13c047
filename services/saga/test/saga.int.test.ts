import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { deterministicEventId, orderStreamId } from '@orderflow/events';
import { encodeEnvelope, jsManager } from '@orderflow/platform';
import { waitFor } from '@orderflow/testkit';
import { listDeadLetters, redrive } from '../../../tools/deadletters/src/deadletters';
import {
  actors,
  countByType,
  instance,
  readStream,
  startSaga,
  waitForEvent,
  waitForIdleConsumer,
  type SagaUnderTest,
} from './harness';

let sut: SagaUnderTest;
let play: ReturnType<typeof actors>;

beforeAll(async () => {
  sut = await startSaga({ PAYMENT_TIMEOUT_MS: '1500', RESTAURANT_TIMEOUT_MS: '1500' });
  play = actors(sut.client);
}, 60_000);

afterAll(async () => {
  await sut?.stop();
});

const dataOf = (events: { eventType: string; data: string }[], type: string): unknown[] =>
  events.filter((e) => e.eventType === type).map((e) => JSON.parse(e.data) as unknown);

const waitForState = (orderId: string, state: string) =>
  waitFor(
    `saga instance ${orderId} in ${state}`,
    async () => (await instance(sut.db, orderId))?.state === state,
    { timeoutMs: 15_000, intervalMs: 50 },
  );

/** orderflow_saga_histories_total by source, from the saga's /metrics. */
const histories = async (): Promise<{ known: number; read: number }> => {
  const text = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
  const value = (source: string) =>
    Number(
      text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('orderflow_saga_histories_total{') && l.includes(`source="${source}"`),
        )
        ?.split(' ')
        .pop() ?? 0,
    );
  return { known: value('known'), read: value('read') };
};

describe('saga against the real event store and nats-server', () => {
  test('when an order moves on one event at a time, then the saga decides on the history it knows and reads no stream', async () => {
    const before = await histories();
    const orderId = await play.createOrder();
    await waitForState(orderId, 'AwaitingPayment');
    await play.debit(orderId);
    await waitForState(orderId, 'AwaitingRestaurant');
    await play.approve(orderId);
    await waitForState(orderId, 'Approved');
    const after = await histories();
    expect(after.known - before.known).toBe(3);
    expect(after.read - before.read).toBe(0);
  });

  test('when the payment is declined, then the saga appends order-cancelled (payment-declined) and no refund request', async () => {
    const orderId = await play.createOrder();
    // The saga has handled order-created before the decline arrives (as when payment takes a
    // moment): the cancellation's causation is then the decline. Handling order-created after
    // the decline was appended would decide the same from the stream, caused by order-created.
    await waitForState(orderId, 'AwaitingPayment');
    await play.decline(orderId);
    const events = await waitForEvent(sut.client, orderId, 'order-cancelled');
    expect(dataOf(events, 'order-cancelled')).toEqual([{ orderId, reason: 'payment-declined' }]);
    const cancelled = events.find((e) => e.eventType === 'order-cancelled')!;
    expect(cancelled.eventId).toBe(deterministicEventId('cancelled', orderId));
    expect(cancelled.metadata).toMatchObject({
      correlation_id: orderId,
      producer: 'saga',
      schema_version: '1',
    });
    expect(cancelled.metadata['causation_id']).toBe(
      events.find((e) => e.eventType === 'order-payment-declined')!.eventId,
    );
    await waitForState(orderId, 'Cancelled');
    expect(
      countByType(await readStream(sut.client, orderId))['order-refund-requested'],
    ).toBeUndefined();
  });

  test('when the restaurant rejects a paid order, then a refund is requested, and after the refund the order is cancelled (restaurant-rejected)', async () => {
    const orderId = await play.createOrder();
    await play.debit(orderId);
    await play.reject(orderId);
    const requested = await waitForEvent(sut.client, orderId, 'order-refund-requested');
    expect(dataOf(requested, 'order-refund-requested')).toEqual([
      { orderId, reason: 'restaurant-rejected' },
    ]);
    expect(dataOf(requested, 'order-cancelled')).toEqual([]);
    await play.refund(orderId);
    const events = await waitForEvent(sut.client, orderId, 'order-cancelled');
    expect(dataOf(events, 'order-cancelled')).toEqual([{ orderId, reason: 'restaurant-rejected' }]);
    await waitForState(orderId, 'Cancelled');
  });

  test('when the restaurant approves, then the instance ends Approved with no deadline and the saga appends nothing', async () => {
    const orderId = await play.createOrder();
    await play.debit(orderId);
    await sut.client.appendToStream({
      streamId: orderStreamId(orderId),
      expectedVersion: 1,
      events: [
        {
          eventId: deterministicEventId('restaurant-decision', orderId),
          eventType: 'order-approved',
          data: JSON.stringify({ orderId, restaurantId: 'trattoria' }),
          metadata: {},
        },
      ],
    });
    await waitForState(orderId, 'Approved');
    expect((await instance(sut.db, orderId))?.deadline).toBeNull();
    expect(countByType(await readStream(sut.client, orderId))).toEqual({
      'order-created': 1,
      'order-payment-debited': 1,
      'order-approved': 1,
    });
  });

  test('when the runtime config sets a 300 ms payment timeout and no payment outcome comes, then the order is cancelled (payment-timeout)', async () => {
    writeFileSync(sut.runtimeFile, JSON.stringify({ saga: { paymentTimeoutMs: 300 } }));
    await waitFor('runtime timeout applied', () => sut.app.timeouts().paymentTimeoutMs === 300, {
      timeoutMs: 15_000,
    });
    try {
      const orderId = await play.createOrder();
      const created = (await readStream(sut.client, orderId))[0]!;
      await waitFor('deadline recorded', () => instance(sut.db, orderId), { intervalMs: 10 });
      const deadline = (await instance(sut.db, orderId))!.deadline!;
      expect(deadline.getTime() - Date.parse(created.createdAt)).toBe(300);
      const events = await waitForEvent(sut.client, orderId, 'order-cancelled', 10_000);
      expect(dataOf(events, 'order-cancelled')).toEqual([{ orderId, reason: 'payment-timeout' }]);
      await waitForState(orderId, 'Cancelled');
    } finally {
      writeFileSync(sut.runtimeFile, JSON.stringify({}));
      await waitFor(
        'runtime timeout reverted',
        () => sut.app.timeouts().paymentTimeoutMs === 1500,
        { timeoutMs: 15_000 },
      );
    }
  });

  test('when the restaurant does not decide in time after the debit, then a refund is requested and after it the order is cancelled (restaurant-timeout)', async () => {
    const orderId = await play.createOrder();
    await play.debit(orderId);
    const requested = await waitForEvent(sut.client, orderId, 'order-refund-requested');
    expect(dataOf(requested, 'order-refund-requested')).toEqual([
      { orderId, reason: 'restaurant-timeout' },
    ]);
    await waitForState(orderId, 'Compensating');
    await play.refund(orderId);
    const events = await waitForEvent(sut.client, orderId, 'order-cancelled');
    expect(dataOf(events, 'order-cancelled')).toEqual([{ orderId, reason: 'restaurant-timeout' }]);
    expect(countByType(events)).toEqual({
      'order-created': 1,
      'order-payment-debited': 1,
      'order-refund-requested': 1,
      'order-payment-refunded': 1,
      'order-cancelled': 1,
    });
  });

  test('when a debit arrives after a payment-timeout cancellation, then a refund is requested (late-debit) and the order is cancelled exactly once', async () => {
    const orderId = await play.createOrder();
    await waitForEvent(sut.client, orderId, 'order-cancelled');
    await play.debit(orderId);
    const events = await waitForEvent(sut.client, orderId, 'order-refund-requested');
    expect(dataOf(events, 'order-refund-requested')).toEqual([{ orderId, reason: 'late-debit' }]);
    await play.refund(orderId);
    await waitForIdleConsumer(sut.nc);
    const final = await readStream(sut.client, orderId);
    expect(dataOf(final, 'order-cancelled')).toEqual([{ orderId, reason: 'payment-timeout' }]);
    expect(countByType(final)).toEqual({
      'order-created': 1,
      'order-cancelled': 1,
      'order-payment-debited': 1,
      'order-refund-requested': 1,
      'order-payment-refunded': 1,
    });
    expect((await instance(sut.db, orderId))?.state).toBe('Cancelled');
  });

  test('when every event of finished orders is delivered again, three times at once, then no event is appended twice', async () => {
    const declined = await play.createOrder();
    await play.decline(declined);
    const rejected = await play.createOrder();
    await play.debit(rejected);
    await play.reject(rejected);
    await waitForEvent(sut.client, rejected, 'order-refund-requested');
    await play.refund(rejected);
    await waitForEvent(sut.client, declined, 'order-cancelled');
    await waitForEvent(sut.client, rejected, 'order-cancelled');
    await waitForIdleConsumer(sut.nc);
    const before = {
      declined: await readStream(sut.client, declined),
      rejected: await readStream(sut.client, rejected),
    };

    const js = jetstream(sut.nc);
    await Promise.all(
      [...before.declined, ...before.rejected].flatMap((e) =>
        [1, 2, 3].map((copy) => {
          const h = natsHeaders();
          h.set('Orderflow-Event-Type', e.eventType);
          return js.publish(`orderflow.events.${e.eventType}`, encodeEnvelope(e), {
            msgID: `again-${copy}-${e.eventId}`,
            headers: h,
          });
        }),
      ),
    );
    await waitForIdleConsumer(sut.nc);
    expect(countByType(await readStream(sut.client, declined))).toEqual(
      countByType(before.declined),
    );
    expect(countByType(await readStream(sut.client, rejected))).toEqual(
      countByType(before.rejected),
    );
    expect(countByType(before.rejected)).toMatchObject({
      'order-refund-requested': 1,
      'order-cancelled': 1,
    });
  });

  test('when a body does not parse, a type is unknown and a schema version is 99, then each is dead-lettered and a later order still completes; the tool lists and re-drives them', async () => {
    const js = jetstream(sut.nc);
    const orderId = randomUUID();
    const envelope = (eventType: string, data: unknown, metadata: Record<string, string> = {}) =>
      Buffer.from(
        JSON.stringify({
          eventId: randomUUID(),
          eventType,
          streamId: orderStreamId(orderId),
          version: 0,
          data,
          metadata,
          createdAt: new Date().toISOString(),
        }),
      );
    const bad = envelope('order-created', { orderId, amount: 'a lot' });
    await js.publish('orderflow.events.order-created', bad);
    await js.publish(
      'orderflow.events.order-teleported',
      envelope('order-teleported', { orderId }),
    );
    await js.publish(
      'orderflow.events.order-approved',
      envelope('order-approved', { orderId, restaurantId: 'r' }, { schema_version: '99' }),
    );

    const good = await play.createOrder();
    await play.decline(good);
    await waitForEvent(sut.client, good, 'order-cancelled');

    const jsm = await jsManager(sut.nc);
    const dead = await waitFor('three dead letters', async () => {
      const list = await listDeadLetters(jsm, 'ORDERS_DLQ', { consumer: 'saga' });
      return list.length >= 3 ? list : undefined;
    });
    expect(dead.map((d) => [d.originalSubject, d.kind, d.consumer])).toEqual([
      ['orderflow.events.order-created', 'poison', 'saga'],
      ['orderflow.events.order-teleported', 'poison', 'saga'],
      ['orderflow.events.order-approved', 'poison', 'saga'],
    ]);
    expect(dead[0]!.reason).toMatch(/order-created: data\./);
    expect(dead[1]!.reason).toMatch(/unknown event type "order-teleported"/);
    expect(dead[2]!.reason).toMatch(/unsupported schema version "99"/);
    expect(dead[0]!.eventType).toBe('order-created');
    expect(await instance(sut.db, orderId)).toBeUndefined();

    // Re-drive the first: it goes back on its subject under a fresh message id, is dead-lettered again, and the old record is gone.
    const r = await redrive(sut.nc, jsm, 'ORDERS_DLQ', dead[0]!.seq);
    expect(r.subject).toBe('orderflow.events.order-created');
    expect(r.msgId).toBe(`redrive:${dead[0]!.eventId}:${dead[0]!.seq}`);
    const again = await jsm.streams.getMessage('ORDERS', { seq: r.streamSequence });
    expect(Buffer.from(again!.data).equals(bad)).toBe(true);
    const after = await waitFor('the re-driven message to be dead-lettered again', async () => {
      const list = await listDeadLetters(jsm, 'ORDERS_DLQ', { consumer: 'saga' });
      return list.some((d) => d.originalSequence === r.streamSequence) ? list : undefined;
    });
    expect(after.map((d) => d.seq)).not.toContain(dead[0]!.seq);
    expect(after).toHaveLength(3);
  });

  test('when /metrics is scraped, then instance states, decisions, outcomes and timeouts are reported', async () => {
    const text = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
    expect(text).toMatch(/orderflow_saga_instances\{state="Cancelled"[^}]*\} [1-9]/);
    // Two orders were approved above, each counted once.
    expect(text).toMatch(/orderflow_saga_instances\{state="Approved"[^}]*\} 2\n/);
    expect(text).toMatch(
      /orderflow_orders_cancelled_total\{reason="payment-declined"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/orderflow_orders_approved_total\{[^}]*\} 2\n/);
    expect(text).toMatch(/orderflow_saga_timeouts_total\{kind="payment"[^}]*\} [1-9]/);
    expect(text).toMatch(/orderflow_saga_timeouts_total\{kind="restaurant"[^}]*\} 1/);
    expect(text).toMatch(/orderflow_saga_decisions_total\{decision="request_refund"[^}]*\} [1-9]/);
    expect(text).toMatch(/orderflow_saga_oldest_in_flight_age_seconds\{[^}]*\} \d/);
    const ready = await fetch(`http://127.0.0.1:${sut.app.opsPort}/readyz`);
    expect(ready.status).toBe(200);
  });
});
