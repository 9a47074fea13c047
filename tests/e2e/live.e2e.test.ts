import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';
import { openSse, type SseMessage } from '../../services/order-api/test/sse-client';
import { paused, startOrderApiReplica, writeStaleApiCatalog } from './order-api-replica';

// The live order feed through the whole system, with two order-api processes: every service a
// real process, the query workers announcing what they project, each API instance subscribed on
// its own. A service held still (SIGSTOP) keeps an order in a state long enough to connect.
const ROOT = join(__dirname, '..', '..');
let system: RunningSystem;
let workDir: string;
let a: string;
let b: { url: string; stop: () => Promise<void> };

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'orderflow-live-'));
  // The order API's menu has what the restaurant no longer sells (nowhere-bistro): rejected, refunded.
  const apiCatalog = writeStaleApiCatalog(ROOT, workDir);
  system = await startSystem({
    root: ROOT,
    runDir: join(workDir, '.run'),
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 2,
    env: { LOG_LEVEL: 'warn' },
    serviceEnv: { 'order-api': { RATE_LIMIT_MAX: '0', CATALOG_FILE: apiCatalog } },
  });
  a = system.endpoints.api;
  b = await startOrderApiReplica(ROOT, system, {
    logFile: join(workDir, '.run', 'logs', 'order-api-2.log'),
    env: { CATALOG_FILE: apiCatalog },
  });
}, 180_000);

afterAll(async () => {
  await b?.stop();
  await system?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function place(restaurantId: string, code: string): Promise<string> {
  const res = await fetch(`${a}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 'live-e2e', restaurantId, items: [{ code, quantity: 1 }] }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { orderId: string }).orderId;
}

const summary = (messages: (SseMessage | 'end')[]) =>
  messages.map((m) => {
    if (m === 'end') return 'end';
    const { order } = JSON.parse(m.data) as { order: { status: string; version: number } };
    expect(m.id).toBe(String(order.version));
    return `${order.version} ${order.status}`;
  });

test('when an order is followed on two order-api instances while it moves to Approved, then both see every status change in order and both streams close', async () => {
  const { orderId, onA, onB } = await paused(system, 'payment', async () => {
    const id = await place('trattoria', 'margherita');
    const streams = {
      orderId: id,
      onA: await openSse(`${a}/api/orders/${id}/events`),
      onB: await openSse(`${b.url}/api/orders/${id}/events`),
    };
    expect(summary([await streams.onA.next(), await streams.onB.next()])).toEqual([
      '0 Pending',
      '0 Pending',
    ]);
    return streams;
  });
  expect(orderId).toBeDefined();
  const [restA, restB] = await Promise.all([onA.rest(), onB.rest()]);
  expect(summary(restA)).toEqual(['1 Paid', '2 Approved']);
  expect(summary(restB)).toEqual(['1 Paid', '2 Approved']);
});

test('when a client drops its connection, the order goes on through rejection, refund and cancellation, and it resumes on the other instance with Last-Event-ID, then it gets every version it missed, in order, and the stream closes at Cancelled', async () => {
  const orderId = await paused(system, 'payment', async () => {
    const id = await place('nowhere-bistro', 'margherita');
    const first = await openSse(`${a}/api/orders/${id}/events`);
    expect(summary([await first.next()])).toEqual(['0 Pending']);
    first.close();
    return id;
  });
  await waitFor(
    'the order to be cancelled',
    async () => {
      const o = (await (await fetch(`${b.url}/api/orders/${orderId}`)).json()) as {
        status: string;
        refunded: boolean;
      };
      return o.status === 'Cancelled' && o.refunded;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const resumed = await openSse(`${b.url}/api/orders/${orderId}/events`, { 'last-event-id': '0' });
  const rest = await resumed.rest();
  expect(summary(rest)).toEqual([
    '1 Paid',
    '2 Rejected',
    '3 Rejected',
    '4 Refunded',
    '5 Cancelled',
  ]);
  expect(
    rest.map((m) => (JSON.parse(m.data) as { events: { type: string }[] }).events[0]?.type),
  ).toEqual([
    'order-payment-debited',
    'order-rejected',
    'order-refund-requested',
    'order-payment-refunded',
    'order-cancelled',
  ]);
  // Once the client has the final state, a reconnect is told to stop.
  const again = await fetch(`${a}/api/orders/${orderId}/events`, {
    headers: { 'last-event-id': '5' },
  });
  expect(again.status).toBe(204);
});
