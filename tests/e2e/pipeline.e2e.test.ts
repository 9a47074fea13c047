import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';

// The whole pipeline with every service as a real process (the built dist/ of each service),
// against a real PostgreSQL and nats-server, exactly as `make up` runs it.
let system: RunningSystem;
let runDir: string;
let api: string;

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'orderflow-e2e-'));
  system = await startSystem({
    root: join(__dirname, '..', '..'),
    runDir,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 2,
    env: { LOG_LEVEL: 'warn' },
  });
  api = system.endpoints.api;
}, 180_000);

afterAll(async () => {
  await system?.stop();
  rmSync(runDir, { recursive: true, force: true });
});

interface OrderView {
  orderId: string;
  status: string;
  amount: number;
  cancellationReason?: string;
  refunded?: boolean;
}

const order = (
  customerId: string,
  restaurantId = 'trattoria',
  items = [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 }],
) => ({
  customerId,
  restaurantId,
  items,
});

async function place(body: unknown): Promise<{ orderId: string; amount: number }> {
  const res = await fetch(`${api}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { orderId: string; amount: number };
}

async function finalState(orderId: string, timeoutMs = 30_000): Promise<OrderView> {
  return waitFor(
    `order ${orderId} to reach a final state`,
    async () => {
      const res = await fetch(`${api}/api/orders/${orderId}`);
      if (res.status !== 200) return undefined;
      const view = (await res.json()) as OrderView;
      return view.status === 'Approved' || view.status === 'Cancelled' ? view : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

test('when an order for trattoria is placed, then it reaches Approved', async () => {
  const { orderId, amount } = await place(order(`e2e-one-${Date.now()}`));
  expect(amount).toBe(2500);
  const view = await finalState(orderId);
  expect(view.status).toBe('Approved');
  expect(view.amount).toBe(2500);
});

test('when 200 orders are placed concurrently, then all reach Approved and each is debited exactly once', async () => {
  const run = Date.now();
  const customers = Array.from({ length: 20 }, (_, i) => `e2e-many-${run}-${i}`);
  const placed = await Promise.all(
    Array.from({ length: 200 }, (_, i) => place(order(customers[i % 20]!))),
  );
  const views = await Promise.all(placed.map((p) => finalState(p.orderId, 90_000)));
  expect(views.filter((v) => v.status === 'Approved')).toHaveLength(200);

  const pay = new pg.Client({ connectionString: system.databaseUrl('payment') });
  await pay.connect();
  try {
    const ledger = await pay.query<{ order_id: string; n: number; total: number }>(
      `SELECT order_id, count(*)::INT AS n, SUM(amount_cents)::INT8 AS total FROM ledger
       WHERE order_id = ANY($1::UUID[]) AND kind = 'debit' GROUP BY order_id`,
      [placed.map((p) => p.orderId)],
    );
    expect(ledger.rows).toHaveLength(200);
    for (const row of ledger.rows) {
      expect(row.n).toBe(1);
      expect(Number(row.total)).toBe(2500);
    }
    const perCustomer = await pay.query<{ customer_id: string; debited: number }>(
      `SELECT customer_id, SUM(amount_cents)::INT8 AS debited FROM ledger WHERE customer_id = ANY($1) GROUP BY customer_id`,
      [customers],
    );
    expect(perCustomer.rows).toHaveLength(20);
    for (const row of perCustomer.rows) expect(Number(row.debited)).toBe(10 * 2500);
  } finally {
    await pay.end();
  }
});

test('when an order is over the credit limit, then the payment is declined and the order ends Cancelled without a refund', async () => {
  const { orderId } = await place(
    order(`e2e-big-${Date.now()}`, 'trattoria', [
      { code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 100 },
    ]),
  );
  const view = await finalState(orderId);
  expect(view.status).toBe('Cancelled');
  expect(view.cancellationReason).toBe('payment-declined');
  expect(view.refunded).toBe(false);
});

test('when an order names an unknown restaurant, then it is rejected, refunded and ends Cancelled', async () => {
  const customerId = `e2e-unknown-${Date.now()}`;
  const { orderId } = await place(order(customerId, 'no-such-restaurant'));
  const view = await finalState(orderId);
  expect(view.status).toBe('Cancelled');
  expect(view.cancellationReason).toBe('restaurant-rejected');
  await waitFor('the refund to show in the read model', async () => {
    const v = (await (await fetch(`${api}/api/orders/${orderId}`)).json()) as OrderView;
    return v.refunded === true || (v.status === 'Cancelled' && v.refunded !== false);
  });
  const pay = new pg.Client({ connectionString: system.databaseUrl('payment') });
  await pay.connect();
  try {
    const rows = await pay.query<{ kind: string; amount_cents: number }>(
      'SELECT kind, amount_cents FROM ledger WHERE order_id = $1 ORDER BY kind',
      [orderId],
    );
    expect(rows.rows.map((r) => [r.kind, Number(r.amount_cents)])).toEqual([
      ['credit', -2500], // the ledger is signed: a debit adds, a credit subtracts
      ['debit', 2500],
    ]);
  } finally {
    await pay.end();
  }
});

test('when every service is up, then each answers /healthz, /readyz and /metrics with orderflow_ metrics', async () => {
  for (const [name, e] of Object.entries(system.endpoints.services)) {
    expect([name, (await fetch(`${e.http}/healthz`)).status]).toEqual([name, 200]);
    expect([name, (await fetch(`${e.http}/readyz`)).status]).toEqual([name, 200]);
    const metrics = await (await fetch(`${e.http}/metrics`)).text();
    expect(metrics).toMatch(/^orderflow_/m);
  }
});
