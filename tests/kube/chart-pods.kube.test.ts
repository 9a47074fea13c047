import { randomUUID } from 'node:crypto';
import {
  check,
  placeOrder as placeChaosOrder,
  planOrders,
  type AcceptedOrder,
} from '@orderflow/chaos';
import type { Cluster, PodRunner, StopReport } from '@orderflow/kubelet';
import {
  FINAL,
  IMAGE,
  buildImages,
  cluster as makeCluster,
  finalState,
  orderApiMenu,
  placeOrder,
  type OrderView,
} from './helpers';

/**
 * The Kubernetes path, executed: `make image` builds the image, then charts/orderflow is rendered
 * with `helm template` (ci/kube-values.yaml) and every Deployment and StatefulSet it renders runs
 * as podman containers under an emulated kubelet (tools/kubelet): init containers, probes,
 * restarts, securityContext, volumes, env from Secrets, Service names on one network.
 *
 * What is emulated, and what is not: the kubelet and Service DNS/virtual IPs are; there is no
 * scheduler and no API server, so the operator is left out. CockroachDB has no image or binary
 * here: the chart's cockroachdb.external path points at PostgreSQL in a container
 * (tests/kube/fixtures/postgres.yaml). NATS runs from the chart's own StatefulSet and config with
 * a stand-in image built from Debian's nats-server.
 */

let k: Cluster;
let api = '';

const DEPLOYMENTS = [
  'eventstore',
  'order-api',
  'payment',
  'restaurant',
  'order-query-worker',
  'saga',
];
const dbUrl = (user: string, password: string, db: string, host: string): string =>
  `postgresql://${user}:${password}@${host}:5432/${db}`;

beforeAll(async () => {
  await buildImages();
  k = makeCluster('kube-test', orderApiMenu());
  await k.check(IMAGE);
  await k.up();
  await k.waitReady(6 * 60_000);
  api = await k.serviceUrl('of-order-api', 8080);
}, 15 * 60_000);

afterAll(async () => {
  await k?.down();
});

const margherita = (quantity: number) => [{ code: 'margherita', quantity }];

describe('the chart, run in containers', () => {
  test('when the release is up, then every service runs from the image as the chart says: non-root, read-only, no capabilities, migrations done', async () => {
    for (const name of DEPLOYMENTS) {
      const pods = k.podsOf('Deployment', `of-${name}`);
      expect([name, pods.length > 0 && pods.every((p) => p.ready)]).toEqual([name, true]);
      for (const pod of pods) {
        const main = pod.statuses.get(name)!;
        const [info] = await k.podman.json<
          {
            Config: { User: string; Entrypoint: string | string[]; Cmd: string[] | null };
            HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[] | null };
            EffectiveCaps: string[] | null;
          }[]
        >(['inspect', main.id!]);
        expect({
          service: name,
          user: info!.Config.User,
          readOnly: info!.HostConfig.ReadonlyRootfs,
          caps: info!.EffectiveCaps ?? [],
          noNewPrivileges: (info!.HostConfig.SecurityOpt ?? []).includes('no-new-privileges'),
        }).toEqual({
          service: name,
          user: '65532:65532',
          readOnly: true,
          caps: [],
          noNewPrivileges: true,
        });
        // The command the chart sets is what runs.
        const argv = [info!.Config.Entrypoint, info!.Config.Cmd ?? []].flat().join(' ');
        expect(argv).toContain(`services/${name}/dist/main.js`);
        // Only the chart's mounts are writable: the root file system is not.
        const write = await k.podman.exec(['exec', main.id!, 'sh', '-c', 'touch /app/x']);
        expect(write.stderr).toMatch(/Read-only file system/);
        const tmp = await k.podman.exec(['exec', main.id!, 'sh', '-c', 'touch /tmp/x && id -u']);
        expect(tmp.stdout.trim()).toBe('65532');
        const migrate = pod.statuses.get('migrate');
        if (migrate) expect([name, migrate.exitCode]).toEqual([name, 0]);
      }
    }
  });

  test('when an order is placed through the order API Service, then it reaches Approved', async () => {
    const placed = await placeOrder(api, {
      customerId: `kube-${randomUUID().slice(0, 8)}`,
      restaurantId: 'trattoria',
      items: margherita(2),
    });
    const done = await finalState(api, placed.orderId);
    expect({ status: done.status, amount: done.amount }).toEqual({
      status: 'Approved',
      amount: 2500,
    });
  });

  test('when an order is over credit, or for a dish the restaurant no longer sells, then it ends Cancelled, the latter refunded', async () => {
    const customer = `kube-${randomUUID().slice(0, 8)}`;
    const big = await placeOrder(api, {
      customerId: customer,
      restaurantId: 'trattoria',
      items: margherita(100),
    });
    // On the order API's menu (tests/kube/fixtures/order-api-menu-values.yaml), not the restaurant's.
    const gone = await placeOrder(api, {
      customerId: customer,
      restaurantId: 'trattoria',
      items: [{ code: 'pineapple-pizza', quantity: 1 }],
    });
    expect(gone.amount).toBe(900);
    const [declined, rejected] = await Promise.all([
      finalState(api, big.orderId),
      finalState(api, gone.orderId),
    ]);
    expect({ status: declined.status, refunded: declined.refunded ?? false }).toEqual({
      status: 'Cancelled',
      refunded: false,
    });
    expect({ status: rejected.status, refunded: rejected.refunded }).toEqual({
      status: 'Cancelled',
      refunded: true,
    });
  });

  test('when one container of every Deployment is killed while 200 orders flow, then all reach a final state and every effect happens exactly once', async () => {
    const planned = planOrders(200);
    const deadline = Date.now() + 5 * 60_000;
    const accepted: AcceptedOrder[] = [];
    const kills: string[] = [];
    let next = 0;
    const placing = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < planned.length) {
          const o = planned[next++]!;
          const a = await placeChaosOrder(api, o, deadline);
          if (a) accepted.push(a);
        }
      }),
    );
    // One SIGKILL per Deployment, spread over the placement window; the kubelet restarts each.
    for (const name of DEPLOYMENTS) {
      await new Promise((r) => setTimeout(r, 700));
      const pod = k.podsOf('Deployment', `of-${name}`)[0]!;
      await pod.kill(name, 'KILL');
      kills.push(pod.name);
    }
    await placing;
    expect(accepted).toHaveLength(200);
    const finals = await Promise.all(accepted.map((o) => finalState(api, o.orderId, 180_000)));
    expect(finals.filter((o) => !FINAL.has(o.status))).toEqual([]);
    const restarted = kills.map((pod) => {
      const p = k.pods().find((x) => x.name === pod)!;
      return Math.max(...[...p.statuses.values()].map((s) => s.restarts));
    });
    expect(restarted.every((n) => n >= 1)).toBe(true);

    const pg = await k.resolve('postgres');
    const result = await check({
      orders: accepted,
      databases: {
        eventstore: dbUrl('eventstore', 'eventstore-pw', 'orderflow_eventstore', pg),
        payment: dbUrl('payment', 'payment-pw', 'orderflow_payment', pg),
        query: dbUrl('order_query_worker', 'order-query-worker-pw', 'orderflow_query', pg),
      },
      // The admin user of tests/kube/fixtures/nats-auth.yaml: NATS runs with its users.
      natsUrl: `nats://admin:adminKubeTest1@${await k.resolve('of-nats')}:4222`,
      stream: 'ORDERS',
    });
    expect(result.violations).toEqual([]);
  });

  test('when the order API is restarted rolling while orders are posted, then no request fails and every order ends final', async () => {
    const results: { status: number | string; orderId?: string }[] = [];
    let posting = true;
    const posters = Array.from({ length: 4 }, async (_, i) => {
      while (posting) {
        try {
          const res = await fetch(`${api}/api/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              customerId: `rolling-${i}-${randomUUID().slice(0, 6)}`,
              restaurantId: 'trattoria',
              items: margherita(1),
            }),
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await res.json()) as Partial<OrderView>;
          results.push({ status: res.status, orderId: body.orderId });
        } catch (err: unknown) {
          const cause =
            err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
          results.push({ status: err instanceof Error ? `${err.message}${cause}` : String(err) });
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    const before = k.podsOf('Deployment', 'of-order-api').map((p) => p.name);
    const stops = await k.rolloutRestart('of-order-api');
    await new Promise((r) => setTimeout(r, 1000));
    posting = false;
    await Promise.all(posters);
    const after = k.podsOf('Deployment', 'of-order-api').map((p) => p.name);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    expect(stops.map((s) => ({ pod: s.pod, killed: s.killed, exit: s.exitCode }))).toEqual(
      before.map((pod) => ({ pod, killed: false, exit: 0 })),
    );
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => r.status !== 201)).toEqual([]);
    const finals = await Promise.all(results.map((r) => finalState(api, r.orderId!, 120_000)));
    expect(finals.filter((o) => !FINAL.has(o.status))).toEqual([]);
  });

  test('when helm test runs, then its pod places an order through the Service and sees it final', async () => {
    const runs = await k.helmTest();
    expect(runs.map((r) => ({ pod: r.pod, phase: r.phase }))).toEqual([
      { pod: 'of-test-order-flow', phase: 'Succeeded' },
    ]);
    expect(runs[0]!.logs).toMatch(/Approved/);
  });

  test('when the release is deleted, then every pod stops on SIGTERM within its grace period', async () => {
    const pods: PodRunner[] = k.pods().filter((p) => p.phase === 'Running');
    const reports: StopReport[] = await k.down();
    expect(reports.length).toBeGreaterThanOrEqual(pods.length);
    expect(reports.filter((r) => r.killed || r.exitCode !== 0)).toEqual([]);
    expect(reports.every((r) => r.seconds < r.graceSeconds)).toBe(true);
  });
});
