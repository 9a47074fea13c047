import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fuzzRuns, fuzzSeed, startIssuer, type DevIssuer } from '@orderflow/testkit';
import { repoCatalog, startApi, type ApiUnderTest } from './harness';

// Property-based tests of the public HTTP edge: generated POST /api/orders bodies and headers and
// GET query strings and paths, well-formed and not, driven through the running order API (real
// HTTP, the real event store on PostgreSQL, a real local OIDC issuer). Whatever arrives: no 5xx;
// every 4xx is problem details naming a field or a cause; a refused request appends nothing; an
// accepted order is priced from the menu. `make fuzz` runs more cases (FUZZ_RUNS).

interface Menu {
  restaurants: {
    id: string;
    open: boolean;
    menu: { code: string; name: string; priceCents: number }[];
  }[];
}
const menu = JSON.parse(readFileSync(repoCatalog, 'utf8')) as Menu;
const restaurantIds = menu.restaurants.map((r) => r.id);
const menuItems = menu.restaurants.flatMap((r) => r.menu);
const CUSTOMER = 'fuzz-customer';
const STAFF = 'fuzz-staff';

let issuer: DevIssuer;
let sut: ApiUnderTest;
const tokens: Record<'customer' | 'staff' | 'expired' | 'stranger', string> = {
  customer: '',
  staff: '',
  expired: '',
  stranger: '',
};

beforeAll(async () => {
  issuer = await startIssuer();
  sut = await startApi({ AUTH_MODE: 'oidc', AUTH_ISSUER: issuer.issuer, RATE_LIMIT_MAX: '0' });
  tokens.customer = await issuer.sign({ customer: CUSTOMER });
  tokens.staff = await issuer.sign({ customer: STAFF, staff: true });
  tokens.expired = await issuer.sign({ customer: CUSTOMER, expiresIn: -600 });
  tokens.stranger = await issuer.sign({ customer: CUSTOMER, key: await issuer.unpublishedKey() });
});

afterAll(async () => {
  await sut.stop();
  await issuer.stop();
});

/** Header-safe text (fetch refuses other characters before anything is sent). */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc
      .oneof(
        { weight: 9, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
        { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
      )
      .map((c) => String.fromCharCode(c)),
    maxLength,
  });
const anyText = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('', ' ', '\u0000', 'ünïcødé 🍕', '<script>', "' OR 1=1 --", '../../etc/passwd'),
  );
const numberish = fc.oneof(
  fc.integer({ min: -3, max: 103 }),
  fc.constantFrom(0, -0, 1.5, 100, 101, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2),
  fc.double(),
  fc.constantFrom('2', null, true, [], {}),
);

/** An item as a client might send it: mostly on the menu, with or without the menu price. */
const item = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(...menuItems).chain((m) =>
      fc.record(
        {
          code: fc.oneof({ weight: 8, arbitrary: fc.constant(m.code) }, anyText(120)),
          quantity: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 100 }) }, numberish),
          unitPrice: fc.oneof(
            { weight: 3, arbitrary: fc.constant(m.priceCents) },
            { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }) },
            numberish,
          ),
          name: fc.oneof(fc.constant(m.name), anyText(220)),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: ['code', 'quantity'] },
      ),
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** An order a well-behaved client sends: an open restaurant, items from its menu. */
const wellFormed = fc.constantFrom(...menu.restaurants.filter((r) => r.open)).chain((r) =>
  fc.record(
    {
      restaurantId: fc.constant(r.id),
      items: fc.array(
        fc.constantFrom(...r.menu).chain((m) =>
          fc.record(
            {
              code: fc.constant(m.code),
              quantity: fc.integer({ min: 1, max: 100 }),
              unitPrice: fc.constant(m.priceCents),
              name: fc.constant(m.name),
            },
            { requiredKeys: ['code', 'quantity'] },
          ),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      customerId: fc.constant(CUSTOMER),
    },
    { requiredKeys: ['restaurantId', 'items'] },
  ),
);

const body = fc.oneof(
  { weight: 5, arbitrary: wellFormed },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        restaurantId: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...restaurantIds) },
          anyText(220),
          numberish,
        ),
        items: fc.oneof(
          { weight: 8, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) },
          fc.array(item, { maxLength: 55 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        customerId: fc.oneof(
          { weight: 3, arbitrary: fc.constant(CUSTOMER) },
          fc.constant('someone-else'),
          anyText(220),
          numberish,
        ),
        coupon: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** The bytes sent: the body as JSON, or something that is not quite JSON, or too much of it. */
const payload = fc.oneof(
  { weight: 10, arbitrary: body.map((b) => JSON.stringify(b) ?? 'null') },
  { weight: 1, arbitrary: body.map((b) => (JSON.stringify(b) ?? 'null').slice(0, -1)) },
  { weight: 1, arbitrary: anyText(200) },
  { weight: 1, arbitrary: fc.constant(JSON.stringify({ restaurantId: 'x'.repeat(70_000) })) },
);

const headers = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      fc.constantFrom(
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
      ),
      headerText(60),
    ),
    authorization: fc.oneof(
      { weight: 8, arbitrary: fc.constant('customer' as const) },
      fc.constantFrom('staff' as const, 'expired' as const, 'stranger' as const),
      headerText(200),
      headerText(100).map((t) => `Bearer ${t}`),
    ),
    'idempotency-key': headerText(220),
    'x-request-id': headerText(220),
    'x-fuzz': headerText(2000),
  },
  { requiredKeys: ['content-type'] },
);

const withToken = (h: Record<string, string>): Record<string, string> => {
  const a = h['authorization'];
  return a !== undefined && a in tokens
    ? { ...h, authorization: `Bearer ${tokens[a as keyof typeof tokens]}` }
    : h;
};

interface Problem {
  type?: unknown;
  title?: unknown;
  status?: unknown;
  detail?: unknown;
  errors?: { field?: unknown; message?: unknown }[];
}

/** Problem details naming a cause (its type) and, for a refused request, the fields at fault. */
function expectProblem(res: Response, text: string): void {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const p = JSON.parse(text) as Problem;
  expect(p.type).toEqual(expect.stringMatching(/^https:\/\/orderflow\.dev\/problems\/[a-z-]+$/));
  expect(p.status).toBe(res.status);
  expect(typeof p.title).toBe('string');
  expect(typeof p.detail).toBe('string');
  for (const e of p.errors ?? []) {
    expect(e.field).toEqual(expect.stringMatching(/.+/));
    expect(e.message).toEqual(expect.stringMatching(/.+/));
  }
  // Refusals of what the client sent name the field (404, 405 and 429 name their cause by type).
  if ([400, 401, 403, 409, 413, 415, 422].includes(res.status))
    expect(p.errors?.length ?? 0).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s+at /);
}

/** An accepted order is the token's customer's, at an open restaurant, priced from its menu. */
function expectPricedFromMenu(sent: string, text: string, customer: string): void {
  const order = JSON.parse(text) as {
    customerId: string;
    restaurantId: string;
    amount: number;
    items: { code: string; name: string; unitPrice: number; quantity: number }[];
  };
  const requested = JSON.parse(sent) as { items: { unitPrice?: number }[] };
  expect(order.customerId).toBe(customer);
  const restaurant = menu.restaurants.find((r) => r.id === order.restaurantId);
  expect(restaurant?.open).toBe(true);
  let total = 0;
  for (const [i, it] of order.items.entries()) {
    const onMenu = restaurant?.menu.find((m) => m.code === it.code);
    expect(onMenu).toBeDefined();
    expect([it.unitPrice, it.name]).toEqual([onMenu?.priceCents, onMenu?.name]);
    // A price the client expected was the menu's, or the order would have been refused.
    const expected = requested.items[i]?.unitPrice;
    if (expected !== undefined) expect(expected).toBe(onMenu?.priceCents);
    total += it.unitPrice * it.quantity;
  }
  expect(order.amount).toBe(total);
}

test('when POST /api/orders gets generated bodies and headers, then no 5xx, every 4xx is problem details, refusals append nothing and accepted orders are priced from the menu', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(payload, headers, async (sent, h) => {
      const before = await sut.eventCount();
      let res: Response;
      try {
        res = await fetch(`${sut.baseUrl}/api/orders`, {
          method: 'POST',
          headers: withToken(h),
          body: sent,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err: unknown) {
        // fetch refuses some header values itself: nothing reached the API.
        if (err instanceof TypeError && !/fetch failed/.test(err.message)) return;
        throw err;
      }
      const text = await res.text();
      const after = await sut.eventCount();
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect([res.status, text]).toEqual([expect.any(Number), text]);
      expect(res.status).toBeLessThan(500);
      if (res.status === 201) {
        expectPricedFromMenu(sent, text, h.authorization === 'staff' ? STAFF : CUSTOMER);
        const replay = res.headers.get('idempotent-replayed') === 'true';
        expect(after - before).toBe(replay ? 0 : 1);
      } else {
        expectProblem(res, text);
        expect(after).toBe(before);
      }
    }),
    { numRuns: fuzzRuns(80), seed: fuzzSeed() },
  );
  // The generators reach both sides of the edge: accepted orders and refusals.
  expect(seen.get(201) ?? 0).toBeGreaterThan(0);
  expect([...seen.keys()].some((s) => s >= 400)).toBe(true);
});

const queryPart = fc.tuple(
  fc.oneof(fc.constantFrom('customerId', 'limit', 'cursor'), anyText(20)),
  fc.oneof(
    fc.constantFrom(CUSTOMER, 'someone-else', '20', '0', '101', '-1', '1e3', 'bm9wZQ'),
    anyText(250),
  ),
  fc.boolean(),
);
const path = fc.oneof(
  fc
    .array(queryPart, { maxLength: 5 })
    .map(
      (parts) =>
        `/api/orders?${parts.map(([k, v, raw]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')}`,
    ),
  fc.oneof(fc.uuid(), anyText(150)).map((id) => `/api/orders/${encodeURIComponent(id)}`),
  fc.constantFrom(
    '/api/orders/%ZZ',
    '/api/orders/%00',
    '/api/orders/..%2F..',
    `/api/orders/${'9'.repeat(300)}`,
  ),
);

test('when GET /api/orders gets generated query strings and paths, then no 5xx and every 4xx is problem details', async () => {
  await fc.assert(
    fc.asyncProperty(path, fc.constantFrom('customer', 'staff', 'none'), async (p, who) => {
      const before = await sut.eventCount();
      let res: Response;
      try {
        res = await fetch(`${sut.baseUrl}${p}`, {
          headers: who === 'none' ? {} : { authorization: `Bearer ${tokens[who]}` },
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err: unknown) {
        if (err instanceof TypeError && !/fetch failed/.test(err.message)) return;
        throw err;
      }
      const text = await res.text();
      expect(res.status).toBeLessThan(500);
      if (res.status >= 400) expectProblem(res, text);
      else expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await sut.eventCount()).toBe(before);
    }),
    { numRuns: fuzzRuns(80), seed: fuzzSeed() },
  );
});
