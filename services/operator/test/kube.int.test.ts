import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@orderflow/platform';
import { waitFor } from '@orderflow/testkit';
import { configSchema } from '../src/config';
import { startOperator, type RunningOperator } from '../src/operator';
import { FakeApiServer } from './helpers/fake-apiserver';
import { startTestNats, type TestNats } from './helpers/nats';

// No real API server (nor kind or Docker) can run on these machines: the Kubernetes side runs
// against FakeApiServer, an in-process node:http fake of the endpoints the operator uses, with a
// real nats-server for JetStream.

const NS = 'prod';
const logger = createLogger('operator-test', 'silent');
let api: FakeApiServer;
let nats: TestNats;
let nc: NatsConnection;
const running: RunningOperator[] = [];

function config(identity: string) {
  return configSchema.parse({
    NATS_URL: nats.url,
    WATCH_NAMESPACE: NS,
    POD_NAME: identity,
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    RESYNC_SECONDS: '1',
    LEASE_DURATION_SECONDS: '3',
    LEASE_RENEW_DEADLINE_SECONDS: '2',
    LEASE_RETRY_PERIOD_SECONDS: '1',
    WATCH_RESTART_DELAY_SECONDS: '1',
    LOG_LEVEL: 'silent',
  });
}

async function operator(identity: string): Promise<RunningOperator> {
  const op = await startOperator(config(identity), {
    kubeConfig: api.kubeConfig(),
    logger,
    nats: nc,
  });
  running.push(op);
  return op;
}

type Status = {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string }[];
  queryWorkers?: { replicas?: number; lag?: number };
};
const statusOf = () => api.get('orderflows', NS, 'shop')?.['status'] as Status | undefined;
const condition = (type: string) => statusOf()?.conditions?.find((c) => c.type === type);
type Runtime = { saga: { paymentTimeoutMs: number }; payment: { defaultCreditCents: number } };
const runtime = (): Runtime =>
  JSON.parse(
    String(
      (api.get('configmaps', NS, 'shop-runtime')?.['data'] as Record<string, string> | undefined)?.[
        'runtime.json'
      ] ?? 'null',
    ),
  ) as Runtime;

beforeAll(async () => {
  api = new FakeApiServer();
  await api.start();
  nats = await startTestNats();
  nc = await nats.connect();
}, 30_000);

afterAll(async () => {
  for (const op of running) await op.stop();
  await nc?.close();
  await nats?.stop();
  await api?.stop();
});

describe('operator against a fake Kubernetes API server and a real nats-server', () => {
  const spec = {
    queryWorkers: {
      minReplicas: 1,
      maxReplicas: 4,
      targetLagPerReplica: 5,
      scaleDownStabilizationSeconds: 0,
    },
    restaurant: { catalog: { name: 'menu', key: 'catalog.json' } },
  };

  it('when an OrderFlow is created, then the leader writes the runtime ConfigMap and a Ready status with observedGeneration', async () => {
    api.putDeployment(NS, 'shop-order-query-worker', 1);
    api.putConfigMap(NS, 'menu', { 'catalog.json': '{"restaurants":[{"id":"r1"}]}' });
    api.applyOrderFlow(NS, 'shop', spec);
    const a = await operator('operator-a');

    await waitFor('Ready', () => condition('Ready')?.status === 'True', { timeoutMs: 15_000 });
    expect(a.elector.isLeader).toBe(true);
    expect(statusOf()?.observedGeneration).toBe(1);
    const cm = api.get('configmaps', NS, 'shop-runtime')!;
    expect(cm.metadata['ownerReferences']).toEqual([
      {
        apiVersion: 'orderflow.io/v1alpha1',
        kind: 'OrderFlow',
        name: 'shop',
        uid: 'uid-shop',
        controller: true,
      },
    ]);
    expect(runtime()).toMatchObject({
      restaurant: { catalog: { restaurants: [{ id: 'r1' }] } },
      payment: { defaultCreditCents: 100000 },
    });
    expect(
      api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/orderflows/shop/status')),
    ).toBe(true);
    const lease = api.get('leases', NS, 'orderflow-operator')!;
    expect((lease['spec'] as { holderIdentity: string }).holderIdentity).toBe('operator-a');
  }, 30_000);

  it('when the resource is edited (kubectl edit), then the watch sees it and the ConfigMap and observedGeneration follow', async () => {
    api.applyOrderFlow(NS, 'shop', { ...spec, saga: { paymentTimeout: '45s' } });
    await waitFor('generation 2', () => statusOf()?.observedGeneration === 2, {
      timeoutMs: 10_000,
    });
    expect(runtime().saga.paymentTimeoutMs).toBe(45_000);
  }, 20_000);

  it('when order-query lags, then the query-worker Deployment is scaled through the scale subresource', async () => {
    const js = jetstream(nc);
    for (let i = 0; i < 12; i++)
      await js.publish('orderflow.events.order-created', '{}', { msgID: `scale-${i}` });
    await waitFor(
      'scaled to 3',
      () =>
        (api.get('deployments', NS, 'shop-order-query-worker')?.['spec'] as { replicas: number })
          .replicas === 3,
      { timeoutMs: 10_000 },
    );
    expect(
      api.requests.some(
        (r) =>
          r.method === 'PATCH' && r.path.endsWith('/deployments/shop-order-query-worker/scale'),
      ),
    ).toBe(true);
    await waitFor(
      'status replicas',
      () => statusOf()?.queryWorkers?.replicas === 3 && statusOf()?.queryWorkers?.lag === 12,
      { timeoutMs: 5_000 },
    );
  }, 20_000);

  it('when the API server ends the watch, then the operator relists, watches again and still sees edits', async () => {
    const lists = () =>
      api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/orderflows')).length;
    const before = lists();
    api.closeWatches();
    await waitFor('relist', () => lists() > before, { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 300));
    api.applyOrderFlow(NS, 'shop', { ...spec, saga: { paymentTimeout: '50s' } });
    await waitFor('generation 3', () => statusOf()?.observedGeneration === 3, {
      timeoutMs: 10_000,
    });
    expect(runtime().saga.paymentTimeoutMs).toBe(50_000);
  }, 20_000);

  it('when a second instance starts, then it stands by (ready, not leading); when the leader stops, then it hands over', async () => {
    const [a] = running;
    const b = await operator('operator-b');
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.elector.isLeader).toBe(false);
    expect(a!.elector.isLeader).toBe(true);
    const ready = await fetch(`http://127.0.0.1:${b.opsPort}/readyz`);
    expect(ready.status).toBe(200);

    await a!.stop();
    running.splice(running.indexOf(a!), 1);
    // Hand-over: the stopping leader released the Lease (no holder) rather than leaving it to
    // expire, so the standby takes it at its next retry. (Checked on the Lease, not with a clock:
    // under load a retry can come late.) b may already hold it by the time it is read.
    const released = api.get('leases', NS, 'orderflow-operator')!['spec'] as {
      holderIdentity?: string;
    };
    expect([undefined, 'operator-b']).toContain(released.holderIdentity);
    await waitFor('b leads', () => b.elector.isLeader, { timeoutMs: 5_000 });
    const lease = api.get('leases', NS, 'orderflow-operator')!['spec'] as {
      holderIdentity: string;
      leaseTransitions: number;
    };
    expect(lease.holderIdentity).toBe('operator-b');
    expect(lease.leaseTransitions).toBe(1);

    api.applyOrderFlow(NS, 'shop', { ...spec, payment: { defaultCredit: 777 } });
    await waitFor('b reconciles', () => runtime().payment.defaultCreditCents === 777, {
      timeoutMs: 10_000,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${b.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/orderflow_operator_reconciles_total\{[^}]*result="success"/);
    expect(metrics).toMatch(
      /orderflow_operator_consumer_lag\{[^}]*consumer="order-query"[^}]*\} 12/,
    );
    expect(metrics).toMatch(/orderflow_operator_leader\{[^}]*\} 1/);
  }, 30_000);
});
