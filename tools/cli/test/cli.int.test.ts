import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi, upsertOrder, type ApiUnderTest } from '../../../services/order-api/test/harness';
import { run, type Io } from '../src/cli';

let sut: ApiUnderTest;

beforeAll(async () => {
  sut = await startApi();
});

afterAll(async () => {
  await sut.stop();
});

interface Captured {
  io: Io;
  out: () => string;
  err: () => string;
}

/** An Io that records output; `onSleep` runs between watch polls (the test plays the projection there). */
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

  test('when an order is watched while the projection moves it to Approved, then each change prints and it exits 0', async () => {
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
    const steps: Record<number, [string, number]> = { 1: ['Paid', 1], 2: ['Approved', 2] };
    const watched = capture(async (n) => {
      const step = steps[n];
      if (step)
        await upsertOrder(sut.query, {
          orderId,
          customerId: 'cli-c2',
          amount: 1250,
          status: step[0],
          version: step[1],
        });
    });
    const code = await run(
      ['watch', orderId, ...api(), '--interval', '10', '--timeout', '10'],
      watched.io,
    );
    expect(code).toBe(0);
    expect(
      watched
        .out()
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[2]),
    ).toEqual(['Pending', 'Paid', 'Approved']);
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
        'r',
        '--item',
        'a:A:100:1',
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
