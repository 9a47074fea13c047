import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  SpanKind,
  createEventStoreClient,
  createLogger,
  startTelemetry,
  stopTelemetry,
} from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';
import { freePort, waitFor } from '@orderflow/testkit';
import { start } from '../src/app';
import { configSchema } from '../src/config';
import { writeFileSync } from 'node:fs';
import { repoCatalog, startApi, upsertOrder, type ApiUnderTest } from './harness';

let sut: ApiUnderTest;
let store: { client: EventStoreClient; close(): void };
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  startTelemetry('order-api-test', { spanProcessors: [new SimpleSpanProcessor(spans)], env: {} });
  sut = await startApi();
  store = createEventStoreClient(`127.0.0.1:${sut.store.app.grpcPort}`);
});

afterAll(async () => {
  store.close();
  await sut.stop();
  await stopTelemetry();
});

/** validOrder()'s items as the menu prices and names them. */
const pricedItems = [
  { code: 'margherita', name: 'Pizza Margherita', unitPrice: 1250, quantity: 2 },
  { code: 'tiramisu', name: 'Tiramisù', unitPrice: 650, quantity: 1 },
];

const validOrder = (over: Record<string, unknown> = {}) => ({
  customerId: 'c1',
  restaurantId: 'trattoria',
  items: [
    { code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 },
    { code: 'tiramisu', name: 'Tiramisu', unitPrice: 650, quantity: 1 },
  ],
  ...over,
});

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sut.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function problem(res: Response): Promise<{
  status: number;
  type: string;
  title: string;
  detail: string;
  instance: string;
  errors?: { field: string; message: string }[];
}> {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as Awaited<ReturnType<typeof problem>>;
  expect(body.status).toBe(res.status);
  expect(body.type).toMatch(/^https:\/\//);
  expect(typeof body.title).toBe('string');
  expect(typeof body.instance).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /); // never a stack trace
  return body;
}

const fieldsOf = (p: { errors?: { field: string }[] }): string[] =>
  (p.errors ?? []).map((e) => e.field);

async function streamOf(orderId: string) {
  return store.client.readStream({ streamId: `order-${orderId}`, fromVersion: 0, maxCount: 100 });
}

describe('POST /api/orders', () => {
  test('when a valid order with the menu prices is posted, then it answers 201 with Location and appends order-created priced from the menu', async () => {
    const res = await post(validOrder(), { 'x-request-id': 'req-abc-1' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      orderId: string;
      status: string;
      amount: number;
      customerId: string;
      restaurantId: string;
      items: unknown[];
    };
    expect(body).toEqual({
      orderId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'Pending',
      amount: 3150,
      customerId: 'c1',
      restaurantId: 'trattoria',
      items: pricedItems,
    });
    expect(res.headers.get('location')).toBe(`/api/orders/${body.orderId}`);

    const stream = await streamOf(body.orderId);
    expect(stream.lastVersion).toBe(0);
    const [event] = stream.events;
    expect(event?.eventType).toBe('order-created');
    expect(JSON.parse(event!.data)).toEqual({
      orderId: body.orderId,
      customerId: 'c1',
      restaurantId: 'trattoria',
      items: pricedItems,
      amount: 3150,
    });
    expect(event?.metadata).toMatchObject({
      correlation_id: body.orderId,
      causation_id: 'req-abc-1',
      schema_version: '1',
      producer: 'order-api',
    });
  });

  const item = { code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 1 };
  const withItem = (over: Record<string, unknown>) => validOrder({ items: [{ ...item, ...over }] });
  test.each<[string, unknown, string]>([
    ['customerId is missing', { restaurantId: 'trattoria', items: [item] }, 'customerId'],
    ['customerId is empty', validOrder({ customerId: '' }), 'customerId'],
    [
      'customerId is longer than 200 characters',
      validOrder({ customerId: 'x'.repeat(201) }),
      'customerId',
    ],
    ['restaurantId is missing', { customerId: 'c1', items: [item] }, 'restaurantId'],
    ['restaurantId is empty', validOrder({ restaurantId: '' }), 'restaurantId'],
    ['items is missing', { customerId: 'c1', restaurantId: 'trattoria' }, 'items'],
    ['items is empty', validOrder({ items: [] }), 'items'],
    [
      'items holds 51 items',
      validOrder({ items: Array.from({ length: 51 }, () => item) }),
      'items',
    ],
    ['unitPrice is negative', withItem({ unitPrice: -1 }), 'items[0].unitPrice'],
    ['unitPrice is a float', withItem({ unitPrice: 12.5 }), 'items[0].unitPrice'],
    ['unitPrice is a string', withItem({ unitPrice: '1250' }), 'items[0].unitPrice'],
    ['quantity is 0', withItem({ quantity: 0 }), 'items[0].quantity'],
    ['quantity is 101', withItem({ quantity: 101 }), 'items[0].quantity'],
    ['quantity is 1.5', withItem({ quantity: 1.5 }), 'items[0].quantity'],
    [
      'an item has no code',
      validOrder({ items: [{ name: 'x', unitPrice: 1, quantity: 1 }] }),
      'items[0].code',
    ],
    ['the body has an unknown key', validOrder({ coupon: 'FREE' }), 'coupon'],
    ['an item has an unknown key', withItem({ discount: 5 }), 'items[0].discount'],
    ['the body is a JSON array', [validOrder()], 'body'],
  ])('when %s, then it answers 400 naming the field', async (_case, body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(fieldsOf(p)).toContain(field);
    expect(p.detail).toContain(field);
  });

  test('when the Idempotency-Key is longer than 200 characters, then it answers 400 naming the header', async () => {
    const res = await post(validOrder(), { 'idempotency-key': 'k'.repeat(201) });
    expect(res.status).toBe(400);
    expect(fieldsOf(await problem(res))).toEqual(['Idempotency-Key']);
  });

  test('when the body is malformed JSON, then it answers 400 naming the body', async () => {
    const res = await post('{"customerId": "c1",');
    expect(res.status).toBe(400);
    expect(fieldsOf(await problem(res))).toEqual(['body']);
  });

  test('when the body is over 64 KiB, then it answers 413', async () => {
    const res = await post(validOrder({ customerId: 'c'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(fieldsOf(await problem(res))).toEqual(['body']);
  });

  test('when the content type is not JSON, then it answers 415', async () => {
    const res = await fetch(`${sut.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
    expect(fieldsOf(await problem(res))).toEqual(['Content-Type']);
  });
});

describe('prices from the menu', () => {
  const order = (items: unknown[], restaurantId = 'trattoria') => ({
    customerId: 'c-menu',
    restaurantId,
    items,
  });

  test('when no price is sent, then the order is charged the menu price and carries the menu names', async () => {
    const res = await post(
      order([
        { code: 'margherita', quantity: 2 },
        { code: 'tiramisu', quantity: 1 },
      ]),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as { orderId: string; amount: number; items: unknown[] };
    expect(body).toMatchObject({ amount: 3150, items: pricedItems });
    const [event] = (await streamOf(body.orderId)).events;
    expect(JSON.parse(event!.data)).toMatchObject({ amount: 3150, items: pricedItems });
  });

  test('when an expected price differs from the menu, then it answers 409 price-changed with both prices and appends nothing', async () => {
    const before = await sut.eventCount();
    const res = await post(
      order([
        { code: 'tiramisu', quantity: 1 },
        { code: 'margherita', name: 'Margherita', unitPrice: 1, quantity: 2 },
      ]),
    );
    expect(res.status).toBe(409);
    const p = (await problem(res)) as Awaited<ReturnType<typeof problem>> & { items?: unknown };
    expect(p.type).toMatch(/\/price-changed$/);
    expect(fieldsOf(p)).toEqual(['items[1].unitPrice']);
    expect(p.detail).toContain('margherita costs 1250 cents on the menu, not 1');
    expect(p.items).toEqual([
      {
        field: 'items[1].unitPrice',
        code: 'margherita',
        name: 'Pizza Margherita',
        expectedUnitPrice: 1,
        menuUnitPrice: 1250,
      },
    ]);
    expect(await sut.eventCount()).toBe(before);
  });

  test.each<[string, unknown, string[], string]>([
    [
      'the restaurant is unknown',
      order([{ code: 'margherita', quantity: 1 }], 'nowhere'),
      ['restaurantId'],
      'unknown restaurant nowhere',
    ],
    [
      'the restaurant is closed',
      order([{ code: 'burger', quantity: 1 }], 'closed-diner'),
      ['restaurantId'],
      'restaurant closed-diner is closed',
    ],
    [
      'item codes are unknown',
      order([
        { code: 'calzone', quantity: 1 },
        { code: 'margherita', quantity: 1 },
        { code: 'salmon-nigiri', quantity: 1 },
      ]),
      ['items[0].code', 'items[2].code'],
      'unknown item code calzone at trattoria',
    ],
  ])(
    'when %s, then it answers 422 naming the field and appends nothing',
    async (_c, body, fields, text) => {
      const before = await sut.eventCount();
      const res = await post(body);
      expect(res.status).toBe(422);
      const p = await problem(res);
      expect(p.type).toMatch(/\/order-unavailable$/);
      expect(fieldsOf(p)).toEqual(fields);
      expect(p.detail).toContain(text);
      expect(await sut.eventCount()).toBe(before);
    },
  );

  test('when the runtime config changes the menu, then new orders are priced from it at once and a retry of an earlier order still answers that order', async () => {
    const key = `key-${randomUUID()}`;
    const first = await post(order([{ code: 'tiramisu', quantity: 1 }]), {
      'idempotency-key': key,
    });
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as { orderId: string; amount: number };
    expect(firstBody.amount).toBe(650);

    writeFileSync(
      sut.runtimeFile,
      JSON.stringify({
        restaurant: {
          catalog: {
            restaurants: [
              {
                id: 'trattoria',
                name: 'Trattoria',
                open: true,
                menu: [{ code: 'tiramisu', name: 'Tiramisù', priceCents: 700 }],
              },
            ],
          },
        },
      }),
    );
    try {
      await waitFor('the runtime menu', async () => {
        const r = await post(order([{ code: 'tiramisu', quantity: 1 }]));
        return r.status === 201 && ((await r.json()) as { amount: number }).amount === 700;
      });
      // The retry is priced at the new menu (a price change) but is the order already taken.
      const retry = await post(order([{ code: 'tiramisu', quantity: 1, unitPrice: 650 }]), {
        'idempotency-key': key,
      });
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await retry.json()).toEqual(firstBody);
      // The runtime catalog replaced the file's: sushi-bar is gone.
      expect((await post(order([{ code: 'miso-soup', quantity: 1 }], 'sushi-bar'))).status).toBe(
        422,
      );
    } finally {
      writeFileSync(sut.runtimeFile, '{}');
      await waitFor('the file menu again', async () => {
        const r = await post(order([{ code: 'tiramisu', quantity: 1 }]));
        return r.status === 201 && ((await r.json()) as { amount: number }).amount === 650;
      });
    }
  });
});

describe('tracing', () => {
  test('when a POST carries a traceparent, then its SERVER span continues that trace and the event carries it on', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await post(validOrder(), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    const server = spans
      .getFinishedSpans()
      .find((s) => s.name === 'POST /api/orders' && s.spanContext().traceId === traceId);
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(server?.attributes['http.response.status_code']).toBe(201);
    const [event] = (await streamOf(orderId)).events;
    expect(event?.metadata['traceparent']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });
});

describe('Idempotency-Key', () => {
  test('when the same key and body are posted twice, then both answer the same order and one event exists', async () => {
    const key = `key-${randomUUID()}`;
    const first = await post(validOrder(), { 'idempotency-key': key });
    const second = await post(validOrder(), { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    const a = (await first.json()) as { orderId: string };
    const b = (await second.json()) as { orderId: string };
    expect(b).toEqual(a);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const stream = await streamOf(a.orderId);
    expect(stream.events).toHaveLength(1);
  });

  test('when five requests with one key race, then all answer the same order and one event exists', async () => {
    const key = `key-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => post(validOrder(), { 'idempotency-key': key })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    const ids = new Set(
      await Promise.all(
        answers.map(async (a) => ((await a.json()) as { orderId: string }).orderId),
      ),
    );
    expect(ids.size).toBe(1);
    expect((await streamOf([...ids][0]!)).events).toHaveLength(1);
  });

  test('when the same key comes with a different body, then it answers 422 and the first order is unchanged', async () => {
    const key = `key-${randomUUID()}`;
    const first = (await (await post(validOrder(), { 'idempotency-key': key })).json()) as {
      orderId: string;
    };
    const res = await post(validOrder({ restaurantId: 'sushi-bar' }), { 'idempotency-key': key });
    expect(res.status).toBe(422);
    expect(fieldsOf(await problem(res))).toEqual(['Idempotency-Key']);
    const stream = await streamOf(first.orderId);
    expect(stream.events).toHaveLength(1);
    expect(JSON.parse(stream.events[0]!.data)).toMatchObject({ restaurantId: 'trattoria' });
  });
});

describe('GET /api/orders/:id', () => {
  test('when the read model has the order, then it answers it, with the cancellation reason when cancelled', async () => {
    const orderId = randomUUID();
    await upsertOrder(sut.query, {
      orderId,
      customerId: 'c-get',
      status: 'Cancelled',
      version: 3,
      cancellationReason: 'payment-declined',
    });
    const res = await fetch(`${sut.baseUrl}/api/orders/${orderId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      orderId,
      customerId: 'c-get',
      restaurantId: 'trattoria',
      amount: 2500,
      status: 'Cancelled',
      version: 3,
      cancellationReason: 'payment-declined',
      refunded: false,
      updatedAt: expect.any(String),
    });
  });

  test('when the projection has not caught up after a POST, then it answers Pending from the event store', async () => {
    const created = (await (await post(validOrder({ customerId: 'c-ryw' }))).json()) as {
      orderId: string;
    };
    const res = await fetch(`${sut.baseUrl}/api/orders/${created.orderId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      orderId: created.orderId,
      customerId: 'c-ryw',
      status: 'Pending',
      amount: 3150,
      version: 0,
    });
  });

  test('when the id is not a UUID, then it answers 400 naming it', async () => {
    const res = await fetch(`${sut.baseUrl}/api/orders/not-a-uuid`);
    expect(res.status).toBe(400);
    expect(fieldsOf(await problem(res))).toEqual(['id']);
  });

  test('when no such order exists, then it answers 404', async () => {
    const res = await fetch(`${sut.baseUrl}/api/orders/${randomUUID()}`);
    expect(res.status).toBe(404);
    expect((await problem(res)).type).toMatch(/order-not-found$/);
  });
});

describe('GET /api/orders?customerId=', () => {
  test('when a customer has three orders, then two pages list them newest first', async () => {
    const customerId = `c-list-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const base = Date.now() - 60_000;
    for (const [i, orderId] of ids.entries())
      await upsertOrder(sut.query, { orderId, customerId, createdAt: new Date(base + i * 1000) });
    await upsertOrder(sut.query, { orderId: randomUUID(), customerId: 'someone-else' });

    const page1 = (await (
      await fetch(`${sut.baseUrl}/api/orders?customerId=${customerId}&limit=2`)
    ).json()) as {
      items: { orderId: string }[];
      nextCursor: string | null;
    };
    expect(page1.items.map((o) => o.orderId)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await (
      await fetch(
        `${sut.baseUrl}/api/orders?customerId=${customerId}&limit=2&cursor=${page1.nextCursor}`,
      )
    ).json()) as { items: { orderId: string }[]; nextCursor: string | null };
    expect(page2.items.map((o) => o.orderId)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
  });

  test.each([
    ['customerId is missing', '', 'customerId'],
    ['limit is 0', 'customerId=c1&limit=0', 'limit'],
    ['limit is 101', 'customerId=c1&limit=101', 'limit'],
    ['the cursor is not one the API made', 'customerId=c1&cursor=bm9wZQ', 'cursor'],
    [
      'the cursor holds an impossible date',
      `customerId=c1&cursor=${Buffer.from(JSON.stringify(['2026-13-45 07:00:00+00', randomUUID()])).toString('base64url')}`,
      'cursor',
    ],
  ])('when %s, then it answers 400 naming it', async (_case, qs, field) => {
    const res = await fetch(`${sut.baseUrl}/api/orders?${qs}`);
    expect(res.status).toBe(400);
    expect(fieldsOf(await problem(res))).toEqual([field]);
  });
});

describe('routes, methods and operations', () => {
  test('when a route does not exist, then it answers 404 problem details', async () => {
    const res = await fetch(`${sut.baseUrl}/api/nothing`);
    expect(res.status).toBe(404);
    expect((await problem(res)).type).toMatch(/route-not-found$/);
  });

  test('when a known path gets a wrong method, then it answers 405 with Allow', async () => {
    const res = await fetch(`${sut.baseUrl}/api/orders/${randomUUID()}`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await problem(res);
  });

  test('when requests were served, then RED metrics carry route patterns and readiness is green', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /orderflow_http_requests_total\{method="POST",route="\/api\/orders",status="201"/,
    );
    expect(metrics).toMatch(
      /orderflow_http_requests_total\{method="GET",route="unmatched",status="404"/,
    );
    expect(metrics).toMatch(
      /orderflow_http_request_duration_seconds_count\{[^}]*method="GET",route="\/api\/orders\/:id"\} [1-9]/,
    );
    expect(metrics).toMatch(/orderflow_orders_created_total\{service="order-api"\} [1-9]/);
    // Readiness is eventually consistent (a fresh gRPC channel connects first): poll it.
    const ready = await waitFor('readiness', async () => {
      const r = await fetch(`http://127.0.0.1:${sut.app.opsPort}/readyz`);
      return r.status === 200 ? await r.json() : undefined;
    });
    expect(ready).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, eventstore: { ok: true } },
    });
  });
});

describe('event store down', () => {
  test('when the event store cannot be reached, then POST answers 503 with Retry-After and readiness fails', async () => {
    const app = await start(
      configSchema.parse({
        DATABASE_URL: sut.store.databaseUrl,
        EVENTSTORE_ADDRESS: `127.0.0.1:${await freePort()}`,
        EVENTSTORE_TIMEOUT_MS: '1000',
        CATALOG_FILE: repoCatalog,
        AUTH_MODE: 'none',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '0',
      }),
      createLogger('order-api', 'silent'),
    );
    try {
      const res = await fetch(`http://127.0.0.1:${app.httpPort}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(validOrder()),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await problem(res)).type).toMatch(/service-unavailable$/);
      const ready = await fetch(`http://127.0.0.1:${app.opsPort}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await app.stop();
    }
  });
});
