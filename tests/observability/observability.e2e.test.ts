import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { orderStreamId } from '@orderflow/events';
import { createEventStoreClient } from '@orderflow/platform';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';
import {
  ROOT,
  allExpressions,
  metricNamesIn,
  seriesNamesOf,
  startOtlpReceiver,
  startPrometheus,
  type PrometheusUnderTest,
  type ReceivedSpan,
} from './support';

// The running local system (every service a real process, as `make up` runs it) with tracing on,
// scraped by a real Prometheus while orders flow.
let system: RunningSystem;
let prom: PrometheusUnderTest;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let runDir: string;
let api: string;
const orders: Record<'approved' | 'declined' | 'rejected', string[]> = {
  approved: [],
  declined: [],
  rejected: [],
};

const item = (code: string, unitPrice: number, quantity = 1) => ({
  code,
  name: code,
  unitPrice,
  quantity,
});
async function place(customerId: string, restaurantId: string, items: unknown[]): Promise<string> {
  const res = await fetch(`${api}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId, restaurantId, items }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { orderId: string }).orderId;
}
async function finalStatus(orderId: string): Promise<string> {
  return waitFor(
    `order ${orderId} final`,
    async () => {
      const res = await fetch(`${api}/api/orders/${orderId}`);
      if (!res.ok) return undefined;
      const v = (await res.json()) as { status: string };
      return v.status === 'Approved' || v.status === 'Cancelled' ? v.status : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'orderflow-obs-'));
  // The order API's menu has closed-diner open, the restaurant's has it closed: as if it closed
  // between the order and the decision, so the order is taken, paid, rejected and refunded.
  const catalog = JSON.parse(readFileSync(join(ROOT, 'config', 'catalog.json'), 'utf8')) as {
    restaurants: { id: string; open: boolean }[];
  };
  const apiCatalog = join(runDir, 'order-api-catalog.json');
  writeFileSync(
    apiCatalog,
    JSON.stringify({
      restaurants: catalog.restaurants.map((r) =>
        r.id === 'closed-diner' ? { ...r, open: true } : r,
      ),
    }),
  );
  otlp = await startOtlpReceiver();
  system = await startSystem({
    root: ROOT,
    runDir,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 2,
    env: {
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
    serviceEnv: { 'order-api': { CATALOG_FILE: apiCatalog } },
  });
  api = system.endpoints.api;
  prom = await startPrometheus(
    Object.fromEntries(Object.entries(system.endpoints.services).map(([n, e]) => [n, e.http])),
  );

  // Traffic: approvals, a declined payment (over the default credit), a restaurant rejection
  // (it closed after the order: refund, then cancel), a bad request and a version conflict.
  const run = Date.now();
  for (let i = 0; i < 6; i++)
    orders.approved.push(
      await place(`obs-${run}-${i % 3}`, 'trattoria', [item('margherita', 1250, 2)]),
    );
  orders.declined.push(
    await place(`obs-${run}-poor`, 'trattoria', [item('margherita', 1250, 100)]),
  );
  orders.rejected.push(await place(`obs-${run}-closed`, 'closed-diner', [item('burger', 1100)]));
  expect(
    (
      await fetch(`${api}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
    ).status,
  ).toBe(400);
  const es = createEventStoreClient(system.endpoints.services['eventstore']!.grpc!);
  try {
    await expect(
      es.client.appendToStream({
        streamId: orderStreamId(orders.approved[0]!),
        // Far past the stream's end: refused, nothing written.
        expectedVersion: 99,
        events: [{ eventId: randomUUID(), eventType: 'order-cancelled', data: '{}', metadata: {} }],
      }),
    ).rejects.toThrow(/version|expected|precondition/i);
  } finally {
    es.close();
  }
  for (const id of orders.approved) expect(await finalStatus(id)).toBe('Approved');
  for (const id of [...orders.declined, ...orders.rejected])
    expect(await finalStatus(id)).toBe('Cancelled');
}, 240_000);

afterAll(async () => {
  await prom?.stop();
  await system?.stop();
  await otlp?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

/** `nonzero`: traffic above must have produced a non-zero value; `present`: the family must exist. */
const families: [string, 'nonzero' | 'present', string?][] = [
  // RED: HTTP and gRPC
  ['orderflow_http_requests_total', 'nonzero'],
  [
    'orderflow_http_request_duration_seconds',
    'nonzero',
    'sum(orderflow_http_request_duration_seconds_count)',
  ],
  ['orderflow_grpc_server_requests_total', 'nonzero'],
  [
    'orderflow_grpc_server_duration_seconds',
    'nonzero',
    'sum(orderflow_grpc_server_duration_seconds_count)',
  ],
  // event store
  ['orderflow_eventstore_appends_total', 'nonzero'],
  ['orderflow_eventstore_events_appended_total', 'nonzero'],
  ['orderflow_eventstore_version_conflicts_total', 'nonzero'],
  ['orderflow_eventstore_tx_retries_total', 'present'],
  ['orderflow_eventstore_outbox_backlog', 'present'],
  ['orderflow_eventstore_outbox_oldest_age_seconds', 'present'],
  [
    'orderflow_eventstore_publish_duration_seconds',
    'nonzero',
    'sum(orderflow_eventstore_publish_duration_seconds_count)',
  ],
  ['orderflow_eventstore_published_total', 'nonzero'],
  // consumers
  ['orderflow_consumer_messages_total', 'nonzero'],
  [
    'orderflow_consumer_handle_duration_seconds',
    'nonzero',
    'sum(orderflow_consumer_handle_duration_seconds_count)',
  ],
  ['orderflow_consumer_redeliveries_total', 'present'],
  ['orderflow_consumer_lag', 'present', 'count(orderflow_consumer_lag)'],
  ['orderflow_dead_letters_total', 'present'],
  // business
  ['orderflow_orders_created_total', 'nonzero'],
  ['orderflow_orders_approved_total', 'nonzero'],
  [
    'orderflow_orders_cancelled_total',
    'nonzero',
    'sum(orderflow_orders_cancelled_total{reason="payment-declined"}) * sum(orderflow_orders_cancelled_total{reason="restaurant-rejected"})',
  ],
  ['orderflow_payment_debited_cents_total', 'nonzero'],
  ['orderflow_payment_refunded_cents_total', 'nonzero'],
  ['orderflow_payments_total', 'nonzero'],
  ['orderflow_refunds_total', 'nonzero'],
  ['orderflow_restaurant_decisions_total', 'nonzero'],
  ['orderflow_query_projected_total', 'nonzero'],
  ['orderflow_saga_instances', 'present', 'count(orderflow_saga_instances)'],
  [
    'orderflow_saga_oldest_in_flight_age_seconds',
    'present',
    'count(orderflow_saga_oldest_in_flight_age_seconds)',
  ],
  ['orderflow_saga_decisions_total', 'nonzero'],
  ['orderflow_saga_timeouts_total', 'present'],
  [
    'orderflow_order_end_to_end_seconds',
    'nonzero',
    'sum(orderflow_order_end_to_end_seconds_count{outcome="approved"}) * sum(orderflow_order_end_to_end_seconds_count{outcome="cancelled"})',
  ],
  // readiness and process
  ['orderflow_ready', 'nonzero', 'min(orderflow_ready)'],
  ['process_cpu_seconds_total', 'nonzero'],
  ['process_resident_memory_bytes', 'nonzero'],
  ['nodejs_eventloop_lag_seconds', 'present'],
];

test('when orders flow, then Prometheus scrapes every service and finds every metric family with traffic in it', async () => {
  // A labelled family nothing has touched yet has no series, only its `# TYPE` line: `present`
  // families are looked up in the services' expositions, `nonzero` ones in Prometheus.
  const exported = new Set<string>();
  for (const e of Object.values(system.endpoints.services))
    for (const n of seriesNamesOf(await (await fetch(`${e.http}/metrics`)).text())) exported.add(n);
  const check = async (): Promise<string[]> => {
    const missing: string[] = [];
    for (const [name, want, expr] of families) {
      if (want === 'present' && !expr) {
        if (!exported.has(name)) missing.push(`${name} (not exported by any service)`);
        continue;
      }
      const q = expr ?? `sum(${name})`;
      const result = await prom.query(q);
      const v = Number(result[0]?.value[1] ?? NaN);
      if (want === 'nonzero' ? !(v > 0) : !(v >= 0))
        missing.push(`${name} (${q} = ${result[0]?.value[1] ?? 'no data'})`);
    }
    return missing;
  };
  const until = Date.now() + 90_000;
  let failures = await check();
  while (failures.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 2_000));
    failures = await check();
  }
  expect(failures).toEqual([]);
  const up = await prom.query('up');
  expect(up.length).toBe(Object.keys(system.endpoints.services).length);
  expect(up.every((s) => s.value[1] === '1')).toBe(true);
});

test('when dashboards and alert rules name a metric, then the running services export it', async () => {
  const exported = new Set<string>();
  for (const e of Object.values(system.endpoints.services))
    for (const n of seriesNamesOf(await (await fetch(`${e.http}/metrics`)).text())) exported.add(n);
  const unknown = allExpressions().flatMap(({ where, expr }) =>
    metricNamesIn(expr)
      .filter((n) => !exported.has(n))
      .map((n) => `${where}: ${n}`),
  );
  expect(unknown).toEqual([]);
  // And each expression parses and runs on a real Prometheus.
  for (const { where, expr } of allExpressions()) {
    const q = expr
      .replace(/^label_values\((.*),\s*\w+\)$/, '$1')
      .replace(/\$__rate_interval|\$__interval|\$__range/g, '1m')
      .replace(/\$\{?[a-z_]+\}?/g, '.*');
    await expect(prom.query(q).then(() => where)).resolves.toBe(where);
  }
});

test('when one order is placed, then its spans from every service form one trace: a tree with one root', async () => {
  const orderId = orders.approved[1]!;
  const root = await waitFor('the POST span', () =>
    otlp.spans.find(
      (s) => s.attributes['orderflow.order_id'] === orderId && s.name.startsWith('POST'),
    ),
  );
  const expected = [
    'order-api',
    'eventstore',
    'payment',
    'restaurant',
    'saga',
    'order-query-worker',
  ];
  let trace: ReceivedSpan[] = [];
  await waitFor(
    'spans of every service in the trace',
    () => {
      trace = otlp.spans.filter((s) => s.traceId === root.traceId);
      const services = new Set(trace.map((s) => s.service));
      // The saga's last decision for an approved order is recorded once the restaurant's event arrives.
      return (
        expected.every((s) => services.has(s)) &&
        trace.some((s) => s.service === 'saga' && /order-approved/.test(s.name))
      );
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await new Promise((r) => setTimeout(r, 1_500)); // late exports of the same trace
  trace = otlp.spans.filter((s) => s.traceId === root.traceId);
  const ids = new Set(trace.map((s) => s.spanId));
  const roots = trace.filter((s) => !s.parentSpanId);
  expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual([`order-api ${root.name}`]);
  const orphans = trace
    .filter((s) => s.parentSpanId && !ids.has(s.parentSpanId))
    .map((s) => `${s.service} ${s.name}`);
  expect(orphans).toEqual([]);
  expect(new Set(trace.map((s) => s.service)).size).toBeGreaterThanOrEqual(4);
  // The chain: HTTP → gRPC append → store → publish → each consumer → the appends it makes.
  const names = trace.map((s) => `${s.service}: ${s.name}`);
  for (const want of [
    /^order-api: POST /,
    /^eventstore: grpc.server AppendToStream/,
    /^eventstore: eventstore append/,
    /^eventstore: publish order-created/,
    /^payment: payment process order-created/,
    /^restaurant: restaurant process order-payment-debited/,
    /^saga: saga process order-approved/,
    /^order-query-worker: order-query process order-approved/,
  ])
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(want)]));
  // Parent links that show each step runs inside the one before it (OTLP kinds: 2 server, 3 client, 4 producer, 5 consumer).
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const parentOf = (name: string) => {
    const s = trace.find((x) => x.name === name);
    const p = s && byId.get(s.parentSpanId);
    return p && { service: p.service, name: p.name, kind: p.kind };
  };
  expect(parentOf('eventstore append')).toEqual({
    service: 'eventstore',
    name: 'grpc.server AppendToStream',
    kind: 2,
  });
  expect(parentOf('payment process order-created')).toEqual({
    service: 'eventstore',
    name: 'publish order-created',
    kind: 4,
  });
  expect(parentOf('saga process order-approved')).toEqual({
    service: 'eventstore',
    name: 'publish order-approved',
    kind: 4,
  });
  const serverOfCreate = trace.find(
    (s) =>
      s.name === 'grpc.server AppendToStream' && byId.get(s.parentSpanId)?.service === 'order-api',
  );
  expect(serverOfCreate && byId.get(serverOfCreate.parentSpanId)).toMatchObject({
    name: 'grpc.client AppendToStream',
    kind: 3,
  });
  // No payment details or personal data on spans.
  for (const s of trace)
    for (const k of Object.keys(s.attributes))
      expect(k).not.toMatch(/customer|amount|cents|card|account|email|address|phone/i);
});
