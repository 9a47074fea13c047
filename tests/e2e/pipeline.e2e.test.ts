import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { run, type Io } from '@orderflow/cli';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';
import type { OrderView } from '@orderflow/contracts';

// The whole pipeline with every service as a real process (the built dist/ of each service),
// against a real PostgreSQL and nats-server, exactly as `make up AUTH=dev` runs it: the order API
// wants bearer tokens from the runner's local issuer.
const ROOT = join(__dirname, '..', '..');
let system: RunningSystem;
let workDir: string;
let api: string;

interface Catalog {
  restaurants: {
    id: string;
    name: string;
    open: boolean;
    menu: { code: string; name: string; priceCents: number }[];
  }[];
}
const catalog = JSON.parse(readFileSync(join(ROOT, 'config', 'catalog.json'), 'utf8')) as Catalog;
const menuPrice = (restaurant: string, code: string): number => {
  const item = catalog.restaurants
    .find((r) => r.id === restaurant)
    ?.menu.find((i) => i.code === code);
  if (!item) throw new Error(`${code} is not on ${restaurant}'s menu`);
  return item.priceCents;
};

beforeAll(async () => {
  // `make up` writes .run/ in the working folder; the CLI run below reads .run/endpoints.json there.
  workDir = mkdtempSync(join(tmpdir(), 'orderflow-e2e-'));
  const runDir = join(workDir, '.run');
  mkdirSync(runDir);
  // The order API's menu asks 700 for tiramisu where the restaurant's now asks its own price: as
  // if the price changed between the order and the decision.
  const apiCatalog = join(workDir, 'order-api-catalog.json');
  writeFileSync(
    apiCatalog,
    JSON.stringify({
      restaurants: catalog.restaurants.map((r) =>
        r.id !== 'trattoria'
          ? r
          : {
              ...r,
              menu: r.menu.map((i) => (i.code === 'tiramisu' ? { ...i, priceCents: 700 } : i)),
            },
      ),
    }),
  );
  system = await startSystem({
    root: ROOT,
    runDir,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 2,
    auth: 'dev',
    env: { LOG_LEVEL: 'warn' },
    serviceEnv: { 'order-api': { RATE_LIMIT_MAX: '0', CATALOG_FILE: apiCatalog } },
  });
  api = system.endpoints.api;
}, 180_000);

afterAll(async () => {
  await system?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const tokens = new Map<string, string>();
async function bearer(customer: string): Promise<Record<string, string>> {
  if (!system.issuer) throw new Error('the runner started no issuer');
  let t = tokens.get(customer);
  if (!t) {
    t = await system.issuer.sign({ customer });
    tokens.set(customer, t);
  }
  return { authorization: `Bearer ${t}` };
}

const margherita = (quantity: number) => [{ code: 'margherita', unitPrice: 1250, quantity }];

async function place(
  customerId: string,
  items: unknown[] = margherita(2),
  restaurantId = 'trattoria',
): Promise<{ orderId: string; amount: number }> {
  const res = await fetch(`${api}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await bearer(customerId)) },
    body: JSON.stringify({ restaurantId, items }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { orderId: string; amount: number };
}

async function finalState(customerId: string, orderId: string, timeoutMs = 30_000) {
  const auth = await bearer(customerId);
  return waitFor(
    `order ${orderId} to reach a final state`,
    async () => {
      const res = await fetch(`${api}/api/orders/${orderId}`, { headers: auth });
      if (res.status !== 200) return undefined;
      const view = (await res.json()) as OrderView;
      return view.status === 'Approved' || view.status === 'Cancelled' ? view : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

async function ledgerOf(orderIds: string[]) {
  const pay = new pg.Client({ connectionString: system.databaseUrl('payment') });
  await pay.connect();
  try {
    return (
      await pay.query<{
        order_id: string;
        customer_id: string;
        kind: string;
        amount_cents: string;
      }>(
        'SELECT order_id, customer_id, kind, amount_cents FROM ledger WHERE order_id = ANY($1::UUID[]) ORDER BY order_id, kind',
        [orderIds],
      )
    ).rows.map((r) => ({ ...r, amount_cents: Number(r.amount_cents) }));
  } finally {
    await pay.end();
  }
}

test('when an order without prices is placed, then it reaches Approved and the amount debited is the menu total', async () => {
  const customer = `e2e-one-${Date.now()}`;
  const { orderId, amount } = await place(
    customer,
    [
      { code: 'salmon-nigiri', quantity: 2 },
      { code: 'miso-soup', quantity: 1 },
    ],
    'sushi-bar',
  );
  const menuTotal =
    2 * menuPrice('sushi-bar', 'salmon-nigiri') + menuPrice('sushi-bar', 'miso-soup');
  expect(amount).toBe(menuTotal);
  const view = await finalState(customer, orderId);
  expect(view).toMatchObject({ status: 'Approved', amount: menuTotal });
  expect(await ledgerOf([orderId])).toEqual([
    { order_id: orderId, customer_id: customer, kind: 'debit', amount_cents: menuTotal },
  ]);
});

test('when 200 orders are placed concurrently, then all reach Approved and each is debited exactly once', async () => {
  const run = Date.now();
  const customers = Array.from({ length: 20 }, (_, i) => `e2e-many-${run}-${i}`);
  const placed = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => ({
      customer: customers[i % 20]!,
      ...(await place(customers[i % 20]!)),
    })),
  );
  const views = await Promise.all(placed.map((p) => finalState(p.customer, p.orderId, 90_000)));
  expect(views.filter((v) => v.status === 'Approved')).toHaveLength(200);

  const ledger = await ledgerOf(placed.map((p) => p.orderId));
  expect(ledger).toHaveLength(200);
  for (const row of ledger) expect(row).toMatchObject({ kind: 'debit', amount_cents: 2500 });
  const perCustomer = new Map<string, number>();
  for (const row of ledger)
    perCustomer.set(row.customer_id, (perCustomer.get(row.customer_id) ?? 0) + row.amount_cents);
  expect([...perCustomer.keys()].sort()).toEqual([...customers].sort());
  for (const debited of perCustomer.values()) expect(debited).toBe(10 * 2500);
});

test('when an order is over the credit limit, then the payment is declined and the order ends Cancelled without a refund', async () => {
  const customer = `e2e-big-${Date.now()}`;
  const { orderId } = await place(customer, margherita(100));
  const view = await finalState(customer, orderId);
  expect(view.status).toBe('Cancelled');
  expect(view.cancellationReason).toBe('payment-declined');
  expect(view.refunded).toBe(false);
});

test('when the price changed between the order and the restaurant’s decision, then it is rejected, refunded and ends Cancelled', async () => {
  const customer = `e2e-repriced-${Date.now()}`;
  const { orderId, amount } = await place(customer, [{ code: 'tiramisu', quantity: 1 }]);
  expect(amount).toBe(700); // the order API's menu at the time of the order
  const view = await finalState(customer, orderId);
  expect(view.status).toBe('Cancelled');
  expect(view.cancellationReason).toBe('restaurant-rejected');
  const auth = await bearer(customer);
  await waitFor('the refund to show in the read model', async () => {
    const v = (await (
      await fetch(`${api}/api/orders/${orderId}`, { headers: auth })
    ).json()) as OrderView;
    return v.refunded === true;
  });
  expect((await ledgerOf([orderId])).map((r) => [r.kind, r.amount_cents])).toEqual([
    ['credit', -700], // the ledger is signed: a debit adds, a credit subtracts
    ['debit', 700],
  ]);
});

test('when a new user follows the AUTH=dev banner, then the CLI gets a token by itself and the order is Approved, while a request without a token is 401', async () => {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: {},
    cwd: workDir,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => Date.now(),
  };
  const code = await run(
    [
      'place',
      '--customer',
      'e2e-cli',
      '--restaurant',
      'trattoria',
      '--item',
      'margherita:2',
      '--wait',
    ],
    io,
  );
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out).toMatch(/placed order [0-9a-f-]{36}: Pending, 25\.00 \(2500 cents\)/);
  expect(out).toMatch(/ Approved\n$/);

  const anonymous = await fetch(`${api}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId: 'e2e-cli',
      restaurantId: 'trattoria',
      items: margherita(1),
    }),
  });
  expect(anonymous.status).toBe(401);
  expect((await fetch(`${api}/api/orders?customerId=e2e-cli`)).status).toBe(401);
});

test('when every service is up, then each answers /healthz, /readyz and /metrics with orderflow_ metrics, without a token', async () => {
  for (const [name, e] of Object.entries(system.endpoints.services)) {
    expect([name, (await fetch(`${e.http}/healthz`)).status]).toEqual([name, 200]);
    expect([name, (await fetch(`${e.http}/readyz`)).status]).toEqual([name, 200]);
    const metrics = await (await fetch(`${e.http}/metrics`)).text();
    expect(metrics).toMatch(/^orderflow_/m);
  }
});
