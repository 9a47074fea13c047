import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIssuer, waitFor, type DevIssuer } from '@orderflow/testkit';
import {
  playWorker,
  startApi,
  upsertOrder,
  type ApiUnderTest,
  type PlayedWorker,
} from '../../../services/order-api/test/harness';
import { run, type Io } from '../src/cli';

let sut: ApiUnderTest;
let worker: PlayedWorker;

beforeAll(async () => {
  sut = await startApi();
  worker = await playWorker(sut);
});

afterAll(async () => {
  await worker.close();
  await sut.stop();
});

interface Captured {
  io: Io;
  out: () => string;
  err: () => string;
}

/** An Io that records output; `onSleep` runs whenever the CLI waits. */
function capture(onSleep: (n: number) => Promise<void> = () => Promise.resolve()): Captured {
  let out = '';
  let err = '';
  let sleeps = 0;
  return {
    io: {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
      cwd: mkdtempSync(join(tmpdir(), 'orders-cli-')),
      sleep: async (ms) => {
        await onSleep(++sleeps);
        await new Promise((r) => setTimeout(r, Math.min(ms, 20)));
      },
      now: () => Date.now(),
    },
    out: () => out,
    err: () => err,
  };
}

const api = () => ['--api', sut.baseUrl];

describe('orders CLI against the real order API', () => {
  test('when an order is placed, then get and list show it', async () => {
    const placed = capture();
    const code = await run(
      [
        'place',
        ...api(),
        '--customer',
        'cli-c1',
        '--restaurant',
        'trattoria',
        '--item',
        'margherita:Margherita:1250:2',
        '--item',
        'tiramisu:Tiramisu:650:1',
        '--json',
      ],
      placed.io,
    );
    expect(placed.err()).toBe('');
    expect(code).toBe(0);
    const order = JSON.parse(placed.out()) as { orderId: string; amount: number; status: string };
    expect(order).toMatchObject({ amount: 3150, status: 'Pending' });

    const got = capture();
    expect(await run(['get', order.orderId, ...api()], got.io)).toBe(0);
    expect(got.out()).toContain(`order       ${order.orderId}`);
    expect(got.out()).toContain('31.50 (3150 cents)');

    await upsertOrder(sut.query, {
      orderId: order.orderId,
      customerId: 'cli-c1',
      amount: 3150,
      status: 'Paid',
      version: 1,
    });
    const listed = capture();
    expect(await run(['list', ...api(), '--customer', 'cli-c1', '--limit', '5'], listed.io)).toBe(
      0,
    );
    expect(listed.out()).toMatch(new RegExp(`${order.orderId}\\s+Paid\\s+31\\.50`));
  });

  test('when an order is watched while the pipeline moves it to Approved, then each change prints, in order, and it exits 0', async () => {
    const placed = capture();
    await run(
      [
        'place',
        ...api(),
        '--customer',
        'cli-c2',
        '--restaurant',
        'trattoria',
        '--item',
        'margherita:Margherita:1250:1',
        '--json',
      ],
      placed.io,
    );
    const { orderId } = JSON.parse(placed.out()) as { orderId: string };
    const watched = capture();
    const watching = run(
      ['watch', orderId, ...api(), '--interval', '10', '--timeout', '10'],
      watched.io,
    );
    await waitFor('the watch to print Pending', () => watched.out().includes('Pending'));
    await worker.append(orderId, 'order-payment-debited');
    await worker.project(orderId, 1);
    await worker.append(orderId, 'order-approved');
    await worker.project(orderId, 2);
    expect(await watching).toBe(0);
    expect(
      watched
        .out()
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[2]),
    ).toEqual(['Pending', 'Paid', 'Approved']);
  });

  test('when the watch connects after the order moved on while the API was away, then it still prints the current state and ends at the final one', async () => {
    const placed = capture();
    await run(
      [
        'place',
        ...api(),
        '--customer',
        'cli-c4',
        '--restaurant',
        'trattoria',
        '--item',
        'margherita:1',
        '--json',
      ],
      placed.io,
    );
    const { orderId } = JSON.parse(placed.out()) as { orderId: string };
    await worker.append(
      orderId,
      'order-payment-debited',
      'order-rejected',
      'order-refund-requested',
      'order-payment-refunded',
      'order-cancelled',
    );
    await worker.project(orderId, 5);
    const watched = capture();
    expect(await run(['watch', orderId, ...api(), '--json'], watched.io)).toBe(0);
    expect(JSON.parse(watched.out())).toMatchObject({
      orderId,
      status: 'Cancelled',
      cancellationReason: 'restaurant-rejected',
    });
  });

  test('when the order does not exist, then the watch prints the 404 and exits 1', async () => {
    const watched = capture();
    expect(await run(['watch', '3b0f8a52-3c1e-4c57-9a4e-1f0c2d9e8b71', ...api()], watched.io)).toBe(
      1,
    );
    expect(watched.err()).toContain('404 id: no such order');
  });

  test('when a watched order never reaches a final state, then it exits 1 after the timeout', async () => {
    const placed = capture();
    await run(
      [
        'place',
        ...api(),
        '--customer',
        'cli-c3',
        '--restaurant',
        'trattoria',
        '--item',
        'tiramisu:1',
        '--json',
      ],
      placed.io,
    );
    const { orderId } = JSON.parse(placed.out()) as { orderId: string };
    const watched = capture();
    expect(
      await run(['watch', orderId, ...api(), '--interval', '300', '--timeout', '1'], watched.io),
    ).toBe(1);
    expect(watched.err()).toMatch(/timed out after 1 s: order .* is Pending/);
  });

  test('when the API refuses the order, then the problem is printed as status and field', async () => {
    const c = capture();
    const code = await run(
      ['place', ...api(), '--customer', 'c', '--restaurant', 'r', '--item', 'a:A:100:101'],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.err()).toMatch(/^400 items\[0\]\.quantity: must be an integer from 1 to 100$/m);
  });

  test('when items carry no price, then the menu prices them; when an expected price is not the menu’s, then it prints the 409 and exits 1', async () => {
    const placed = capture();
    expect(
      await run(
        [
          'place',
          ...api(),
          '--customer',
          'cli-c4',
          '--restaurant',
          'trattoria',
          '--item',
          'margherita:2',
          '--item',
          'tiramisu:650:1',
          '--json',
        ],
        placed.io,
      ),
    ).toBe(0);
    expect(JSON.parse(placed.out())).toMatchObject({
      amount: 3150,
      items: [
        { code: 'margherita', name: 'Pizza Margherita', unitPrice: 1250, quantity: 2 },
        { code: 'tiramisu', unitPrice: 650, quantity: 1 },
      ],
    });
    const refused = capture();
    expect(
      await run(
        [
          'place',
          ...api(),
          '--customer',
          'cli-c4',
          '--restaurant',
          'trattoria',
          '--item',
          'margherita:1:1',
        ],
        refused.io,
      ),
    ).toBe(1);
    expect(refused.err()).toMatch(
      /^409 items\[0\]\.unitPrice: margherita costs 1250 cents on the menu, not 1$/m,
    );
  });

  test('when the usage is wrong, then it explains and exits 2', async () => {
    const c = capture();
    expect(
      await run(
        ['place', ...api(), '--customer', 'c', '--restaurant', 'r', '--item', 'a:A:12.50:1'],
        c.io,
      ),
    ).toBe(2);
    expect(c.err()).toContain('unitPrice must be integer cents');
    const d = capture();
    expect(await run(['frobnicate'], d.io)).toBe(2);
    expect(d.err()).toContain('unknown command "frobnicate"');
  });

  test('when no --api is given, then ORDERFLOW_API and then .run/endpoints.json choose the API', async () => {
    const viaEnv = capture();
    viaEnv.io.env = { ORDERFLOW_API: sut.baseUrl };
    expect(await run(['list', '--customer', 'nobody'], viaEnv.io)).toBe(0);
    expect(viaEnv.out()).toBe('no orders for nobody\n');

    const viaFile = capture();
    mkdirSync(join(viaFile.io.cwd, '.run'));
    writeFileSync(
      join(viaFile.io.cwd, '.run', 'endpoints.json'),
      JSON.stringify({ api: sut.baseUrl, services: {} }),
    );
    expect(await run(['list', '--customer', 'nobody'], viaFile.io)).toBe(0);
  });
});

describe('orders CLI against an API that wants tokens (AUTH_MODE=dev)', () => {
  let issuer: DevIssuer;
  let dev: ApiUnderTest;
  beforeAll(async () => {
    issuer = await startIssuer();
    dev = await startApi({ AUTH_MODE: 'dev', AUTH_ISSUER: issuer.issuer });
  });
  afterAll(async () => {
    await dev.stop();
    await issuer.stop();
  });

  /** An Io whose working folder holds the .run/endpoints.json that `make up AUTH=dev` writes. */
  const devIo = (): Captured => {
    const c = capture();
    mkdirSync(join(c.io.cwd, '.run'));
    writeFileSync(
      join(c.io.cwd, '.run', 'endpoints.json'),
      JSON.stringify({
        api: dev.baseUrl,
        auth: { mode: 'dev', issuer: issuer.issuer, tokenUrl: issuer.tokenUrl },
      }),
    );
    return c;
  };

  test('when the runner issues development tokens, then place, get and list get one transparently', async () => {
    const placed = devIo();
    expect(
      await run(
        [
          'place',
          '--customer',
          'dev-c1',
          '--restaurant',
          'trattoria',
          '--item',
          'tiramisu:2',
          '--json',
        ],
        placed.io,
      ),
    ).toBe(0);
    const order = JSON.parse(placed.out()) as {
      orderId: string;
      customerId: string;
      amount: number;
    };
    expect(order).toMatchObject({ customerId: 'dev-c1', amount: 1300 });

    const got = devIo();
    expect(await run(['get', order.orderId], got.io)).toBe(0);
    expect(got.out()).toContain(`order       ${order.orderId}`);
    const listed = devIo();
    expect(await run(['list', '--customer', 'dev-c1'], listed.io)).toBe(0);
  });

  test('when `token` is asked for, then it prints a token the API accepts for that customer only', async () => {
    const t = devIo();
    expect(await run(['token', '--customer', 'dev-c2'], t.io)).toBe(0);
    const token = t.out().trim();
    expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const mine = await fetch(`${dev.baseUrl}/api/orders`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(mine.status).toBe(200);
    const others = await fetch(`${dev.baseUrl}/api/orders?customerId=dev-c1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(others.status).toBe(403);
  });

  test('when no token can be had, then the 401 is printed with a hint and it exits 1; `token` without the dev issuer is a usage error', async () => {
    const c = capture();
    expect(
      await run(
        [
          'place',
          '--api',
          dev.baseUrl,
          '--customer',
          'x',
          '--restaurant',
          'trattoria',
          '--item',
          'tiramisu:1',
        ],
        c.io,
      ),
    ).toBe(1);
    expect(c.err()).toMatch(/^401 Authorization: a bearer token is required$/m);
    expect(c.err()).toContain('ORDERFLOW_TOKEN');
    const t = capture();
    expect(await run(['token', '--customer', 'x'], t.io)).toBe(2);
    expect(t.err()).toContain('make up AUTH=dev');
  });
});
