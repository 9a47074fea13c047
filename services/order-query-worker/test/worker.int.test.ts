import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { projectedOrderSchema, subjects, type ProjectedOrder } from '@orderflow/contracts';
import { waitFor } from '@orderflow/testkit';
import { foldOrder, type OrderRecord } from '../src/domain/projection';
import { envelope, orderStory, startWorkers, type WorkersUnderTest } from './harness';

let sut: WorkersUnderTest;

beforeAll(async () => {
  sut = await startWorkers(2);
});

afterAll(async () => {
  await sut.stop();
});

const orders = () => sut.workers[0]!.orders;

async function projectedCount(i: number, result: string): Promise<number> {
  const metric = (await sut.workers[i]!.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'orderflow_query_projected_total',
  );
  const values =
    (metric as { values?: { value: number; labels: Record<string, string> }[] } | undefined)
      ?.values ?? [];
  return values.filter((v) => v.labels['result'] === result).reduce((n, v) => n + v.value, 0);
}

test('when an order’s events arrive in order, then its row holds the folded state', async () => {
  const orderId = randomUUID();
  const events = orderStory(orderId, 'rejected');
  const envelopes = events.map((e, v) => envelope(orderId, v, e));
  for (const e of envelopes) await sut.publish(e);
  const expected = foldOrder(
    events.map((event, v) => ({ version: v, createdAt: envelopes[v]!.createdAt, event })),
  );
  const row = await waitFor('the order to be cancelled', async () => {
    const r = await orders().get(orderId);
    return r?.version === 5 ? r : undefined;
  });
  expect(row).toEqual(expected);
  expect(row).toMatchObject<Partial<OrderRecord>>({
    status: 'Cancelled',
    refunded: true,
    cancellationReason: 'restaurant-rejected',
  });
  expect(row.updatedAt).toBe(envelopes[5]!.createdAt);
});

test('when the same event is delivered twice, then the second is a duplicate and the row does not change', async () => {
  const orderId = randomUUID();
  const [created, debited] = orderStory(orderId, 'approved').map((e, v) => envelope(orderId, v, e));
  await sut.publish(created!);
  await sut.publish(debited!);
  await waitFor(
    'the order to be paid',
    async () => (await orders().get(orderId))?.status === 'Paid',
  );
  const before = await orders().get(orderId);
  expect(await sut.workers[1]!.handle(debited!)).toBe('duplicate');
  expect(await sut.workers[0]!.handle(created!)).toBe('duplicate');
  expect(await orders().get(orderId)).toEqual(before);
});

test('when 100 orders’ events are published shuffled to two workers, then every row converges to the fold of its events', async () => {
  const paths = ['approved', 'declined', 'rejected'] as const;
  const stories = Array.from({ length: 100 }, (_, i) => {
    const orderId = randomUUID();
    const events = orderStory(orderId, paths[i % 3]!);
    return { orderId, envelopes: events.map((e, v) => envelope(orderId, v, e)) };
  });
  const all = stories.flatMap((s) => s.envelopes);
  // A seeded Fisher–Yates shuffle keeps failures reproducible.
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const gapsBefore = (await projectedCount(0, 'gap')) + (await projectedCount(1, 'gap'));
  for (const e of all) await sut.publish(e);

  const expected = new Map(
    stories.map((s) => [
      s.orderId,
      foldOrder(
        s.envelopes.map((e) => ({
          version: e.version,
          createdAt: e.createdAt,
          event: { type: e.eventType, data: e.data } as never,
        })),
      ),
    ]),
  );
  await waitFor(
    'every order to converge',
    async () => {
      for (const [orderId, want] of expected)
        if ((await orders().get(orderId))?.version !== want?.version) return false;
      return true;
    },
    { timeoutMs: 50_000, intervalMs: 500 },
  );
  for (const [orderId, want] of expected) expect(await orders().get(orderId)).toEqual(want);
  // Both replicas took a share of the one durable consumer, and the shuffle really produced gaps.
  expect(await projectedCount(0, 'applied')).toBeGreaterThan(0);
  expect(await projectedCount(1, 'applied')).toBeGreaterThan(0);
  expect((await projectedCount(0, 'gap')) + (await projectedCount(1, 'gap'))).toBeGreaterThan(
    gapsBefore,
  );
}, 60_000);

test('when poison messages arrive, then they land on orderflow.deadletter.order-query and the good messages after them are applied', async () => {
  const orderId = randomUUID();
  const [created, debited] = orderStory(orderId, 'approved').map((e, v) => envelope(orderId, v, e));
  await sut.publish(Buffer.from('{not json'), 'order-created');
  await sut.publish(envelope(orderId, 0, { type: 'order-teleported', data: { orderId } } as never));
  await sut.publish({ ...created!, metadata: { schema_version: '99' } });
  await sut.publish(created!);
  await sut.publish(debited!);
  await waitFor(
    'the good messages to be applied',
    async () => (await orders().get(orderId))?.status === 'Paid',
  );

  const js = jetstream(sut.nc);
  const dlq = await js.consumers.get('ORDERS_DLQ');
  const reasons: string[] = [];
  const batch = await dlq.fetch({ max_messages: 10, expires: 2_000 });
  for await (const m of batch) {
    expect(m.subject).toBe('orderflow.deadletter.order-query');
    reasons.push(m.headers?.get('Orderflow-Dead-Reason') ?? '');
  }
  expect(reasons).toEqual(
    expect.arrayContaining([
      'message body is not JSON',
      expect.stringMatching(/unknown event type "order-teleported"/),
      expect.stringMatching(/unsupported schema version "99"/),
    ]),
  );
});

test('when the worker applies an order’s events, then it announces each row it wrote, with its event, on the order’s live-feed subject', async () => {
  const orderId = randomUUID();
  const events = orderStory(orderId, 'approved');
  const heard: ProjectedOrder[] = [];
  const sub = sut.nc.subscribe(subjects.projectedOrder(orderId), {
    callback: (_err, msg) => void heard.push(projectedOrderSchema.parse(msg.json())),
  });
  await sut.nc.flush();
  const envelopes = events.map((e, v) => envelope(orderId, v, e));
  for (const e of envelopes) await sut.publish(e);
  await waitFor('three announcements', () => heard.length >= 3);
  // A redelivery changes nothing, so it announces nothing.
  expect(await sut.workers[0]!.handle(envelopes[1]!)).toBe('duplicate');
  await sut.nc.flush();
  sub.unsubscribe();
  // Two replicas announce what each applied; NATS keeps order per publisher only.
  heard.sort((a, b) => a.order.version - b.order.version);
  expect(heard.map((h) => [h.order.version, h.order.status, h.event.type])).toEqual([
    [0, 'Pending', 'order-created'],
    [1, 'Paid', 'order-payment-debited'],
    [2, 'Approved', 'order-approved'],
  ]);
  expect(heard[2]!.order).toEqual(await orders().get(orderId));
});
