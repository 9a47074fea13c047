import { randomUUID } from 'node:crypto';
import type { OrderRecord } from '@orderflow/contracts';
import { startIssuer, waitFor, type DevIssuer } from '@orderflow/testkit';
import { playWorker, startApi, type ApiUnderTest, type PlayedWorker } from './harness';
import { openSse } from './sse-client';

// GET /api/orders/:id/events against the real event store, a real nats-server and the read model.
// The test plays the order-query-worker: it writes the row and announces it (or, to lose an
// announcement, does not), so each path of the feed is driven on purpose.

let sut: ApiUnderTest;
let worker: PlayedWorker;

beforeAll(async () => {
  sut = await startApi({ SSE_HEARTBEAT_MS: '200', SSE_MAX_STREAMS: '3' });
  worker = await playWorker(sut);
});

afterAll(async () => {
  await worker.close();
  await sut.stop();
});

const append = (orderId: string, ...types: Parameters<PlayedWorker['append']>[1][]) =>
  worker.append(orderId, ...types);
const project = (orderId: string, version: number, opts?: { silent?: boolean }) =>
  worker.project(orderId, version, opts);

async function placeOrder(customerId = 'live-c1'): Promise<string> {
  const res = await fetch(`${sut.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId,
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', quantity: 1 }],
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { orderId: string }).orderId;
}

const parse = (data: string) =>
  JSON.parse(data) as { order: OrderRecord; events: { version: number; type: string }[] };

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('when an order is followed while it moves, then every version arrives once, in order, with its version as id, and the stream ends at Approved', async () => {
  const orderId = await placeOrder();
  await project(orderId, 0);
  const liveBefore = await metric('orderflow_sse_messages_total{source="live"');
  const sse = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`);
  expect(sse.status).toBe(200);
  expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const first = await sse.next();
  expect(first).toMatchObject({ id: '0' });
  expect(parse((first as { data: string }).data)).toMatchObject({
    order: { status: 'Pending', version: 0 },
    events: [{ version: 0, type: 'order-created' }],
  });
  await append(orderId, 'order-payment-debited');
  await project(orderId, 1);
  await append(orderId, 'order-approved');
  await project(orderId, 2);
  const rest = await sse.rest();
  expect(
    rest.map((m) => [m.id, parse(m.data).order.status, parse(m.data).events.map((e) => e.type)]),
  ).toEqual([
    ['1', 'Paid', ['order-payment-debited']],
    ['2', 'Approved', ['order-approved']],
  ]);
  expect(await metric('orderflow_sse_messages_total{source="live"')).toBeGreaterThanOrEqual(
    liveBefore + 2,
  );
});

test('when a client reconnects with Last-Event-ID after missing versions, then it gets each missed version once, in order, and then the live ones', async () => {
  const orderId = await placeOrder();
  await project(orderId, 0);
  const first = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`);
  expect((await first.next()) as { id: string }).toMatchObject({ id: '0' });
  first.close();
  // While it is away: paid, rejected, refund requested.
  await append(orderId, 'order-payment-debited', 'order-rejected', 'order-refund-requested');
  await project(orderId, 3);
  const again = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`, {
    'last-event-id': '0',
  });
  const caughtUp = [await again.next(), await again.next(), await again.next()] as {
    id: string;
    data: string;
  }[];
  expect(caughtUp.map((m) => [m.id, parse(m.data).order.status])).toEqual([
    ['1', 'Paid'],
    ['2', 'Rejected'],
    ['3', 'Rejected'],
  ]);
  await append(orderId, 'order-payment-refunded', 'order-cancelled');
  await project(orderId, 4);
  await project(orderId, 5);
  const rest = await again.rest();
  expect(rest.map((m) => [m.id, parse(m.data).order.status])).toEqual([
    ['4', 'Refunded'],
    ['5', 'Cancelled'],
  ]);
  expect(parse(rest[1]!.data).order).toMatchObject({
    cancellationReason: 'restaurant-rejected',
    refunded: true,
  });
});

/** A new order, projected at version 0, followed, its first message read. */
async function followNewOrder() {
  const orderId = await placeOrder();
  await project(orderId, 0);
  const sse = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`);
  expect(await sse.next()).toMatchObject({ id: '0' });
  return { orderId, sse };
}

test('when an announcement is lost, then the next one is preceded by the missing version from the event store', async () => {
  const { orderId, sse } = await followNewOrder();
  await append(orderId, 'order-payment-debited', 'order-approved');
  await project(orderId, 1, { silent: true });
  await project(orderId, 2);
  expect((await sse.rest()).map((m) => m.id)).toEqual(['1', '2']);
});

test('when no announcement reaches the API at all, then the sweep catches the stream up from the read model, and heartbeats keep it alive', async () => {
  const { orderId, sse } = await followNewOrder();
  await append(orderId, 'order-payment-debited', 'order-approved');
  await project(orderId, 2, { silent: true });
  expect((await sse.rest()).map((m) => [m.id, parse(m.data).order.status])).toEqual([
    ['1', 'Paid'],
    ['2', 'Approved'],
  ]);
  const idle = await openSse(`${sut.baseUrl}/api/orders/${await placeOrder()}/events`);
  await idle.next();
  // Reading on in the background counts the comment lines as they come.
  const reading = idle.next().catch(() => 'closed');
  await waitFor('a heartbeat', () => idle.comments() > 0);
  idle.close();
  expect(await reading).toBe('closed');
});

test('when the client already has the final state, then the API answers 204 so that an EventSource stops', async () => {
  const orderId = await placeOrder();
  await append(orderId, 'order-payment-debited', 'order-approved');
  await project(orderId, 2, { silent: true });
  const res = await fetch(`${sut.baseUrl}/api/orders/${orderId}/events`, {
    headers: { 'last-event-id': '2' },
  });
  expect(res.status).toBe(204);
  // Without Last-Event-ID a final order is one message, and the end.
  const sse = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`);
  const all = await sse.rest();
  expect(all.map((m) => m.id)).toEqual(['2']);
  expect(parse(all[0]!.data).events.map((e) => e.version)).toEqual([0, 1, 2]);
});

test('when the projection has not caught up yet, then the order is followed from its order-created', async () => {
  const orderId = await placeOrder();
  const sse = await openSse(`${sut.baseUrl}/api/orders/${orderId}/events`);
  expect(parse(((await sse.next()) as { data: string }).data).order).toMatchObject({
    status: 'Pending',
    version: 0,
  });
  sse.close();
});

test('when the order does not exist or the request is malformed, then problems name the field', async () => {
  const missing = await fetch(`${sut.baseUrl}/api/orders/${randomUUID()}/events`);
  expect(missing.status).toBe(404);
  const badId = await fetch(`${sut.baseUrl}/api/orders/nope/events`);
  expect(badId.status).toBe(400);
  const orderId = await placeOrder();
  const badVersion = await fetch(`${sut.baseUrl}/api/orders/${orderId}/events`, {
    headers: { 'last-event-id': 'x' },
  });
  expect(badVersion.status).toBe(400);
  expect(await badVersion.json()).toMatchObject({ errors: [{ field: 'Last-Event-ID' }] });
});

test('when SSE_MAX_STREAMS streams are open, then one more answers 503 with Retry-After, and the open streams are counted', async () => {
  const streams = await Promise.all(
    [0, 1, 2].map(async () => {
      const s = await openSse(`${sut.baseUrl}/api/orders/${await placeOrder()}/events`);
      await s.next();
      return s;
    }),
  );
  expect(await metric('orderflow_sse_streams_open')).toBe(3);
  const refused = await fetch(`${sut.baseUrl}/api/orders/${await placeOrder()}/events`);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('5');
  expect(await refused.json()).toMatchObject({
    type: 'https://orderflow.dev/problems/too-many-streams',
  });
  for (const s of streams) s.close();
  await waitFor(
    'the streams to close',
    async () => (await metric('orderflow_sse_streams_open')) === 0,
  );
});

test('when the API stops, then its open streams end, so that clients resume on another instance', async () => {
  const api = await startApi();
  const res = await fetch(`${api.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId: 'c9',
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', quantity: 1 }],
    }),
  });
  const { orderId } = (await res.json()) as { orderId: string };
  const sse = await openSse(`${api.baseUrl}/api/orders/${orderId}/events`);
  expect(await sse.next()).toMatchObject({ id: '0' });
  await api.stop();
  expect(await sse.rest()).toEqual([]);
});

describe('with authentication on', () => {
  let issuer: DevIssuer;
  let secured: ApiUnderTest;

  beforeAll(async () => {
    issuer = await startIssuer();
    secured = await startApi({ AUTH_MODE: 'dev', AUTH_ISSUER: issuer.issuer });
  });

  afterAll(async () => {
    await secured.stop();
    await issuer.stop();
  });

  test('when a stream is asked for without a token, by another customer, by the customer or by staff, then 401, 403, 200 and 200', async () => {
    const token = (customer: string, staff = false) => issuer.sign({ customer, staff });
    const res = await fetch(`${secured.baseUrl}/api/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await token('owner')}`,
      },
      body: JSON.stringify({
        restaurantId: 'trattoria',
        items: [{ code: 'margherita', quantity: 1 }],
      }),
    });
    const { orderId } = (await res.json()) as { orderId: string };
    const url = `${secured.baseUrl}/api/orders/${orderId}/events`;
    expect((await fetch(url)).status).toBe(401);
    const other = await fetch(url, {
      headers: { authorization: `Bearer ${await token('someone-else')}` },
    });
    expect(other.status).toBe(403);
    for (const t of [await token('owner'), await token('support', true)]) {
      const sse = await openSse(url, { authorization: `Bearer ${t}` });
      expect(sse.status).toBe(200);
      expect(await sse.next()).toMatchObject({ id: '0' });
      sse.close();
    }
  });
});
