import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createJetStreamAdapter, type JetStreamPort } from '../src/adapters/jetstream';
import { applyPlan } from '../src/executor';
import { reconcile, wantedStreams } from '../src/domain/reconcile';
import { CONSUMER_NAMES, type OrderFlow } from '../src/domain/spec';
import type { Observed } from '../src/domain/types';
import { orderFlow } from './helpers/fixtures';
import { startTestNats, type TestNats } from './helpers/nats';

let nats: TestNats;
let nc: NatsConnection;
let port: JetStreamPort;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await nats.connect();
  port = createJetStreamAdapter(nc);
}, 20_000);

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function observe(resource: OrderFlow): Promise<Observed> {
  const streams = wantedStreams(resource).map((s) => s.name);
  return {
    jetstream: await port.observe(streams, resource.spec.eventBus.streamName, CONSUMER_NAMES),
    runtimeConfigMap: null,
    catalog: { state: 'notConfigured' },
    scale: { replicas: 1 },
    status: undefined,
    history: undefined,
  };
}

/** Runs the JetStream part of a reconcile against the real server (no Kubernetes here). */
async function converge(resource: OrderFlow) {
  const result = reconcile(resource, await observe(resource), Date.now());
  const jsActions = result.actions.filter((a) =>
    ['CreateStream', 'UpdateStream', 'CreateConsumer', 'UpdateConsumer'].includes(a.type),
  );
  const failures = await applyPlan(jsActions, { jetstream: port });
  return { result, failures };
}

describe('JetStream adapter against a real nats-server', () => {
  it('when the resource is new, then the streams and consumers are created as it says, and a second pass changes nothing', async () => {
    const resource = orderFlow({
      eventBus: {
        maxAge: '24h',
        duplicateWindow: '1m',
        consumers: { 'order-query': { ackWait: '45s', maxDeliver: 7, maxAckPending: 500 } },
      },
    });
    const { failures } = await converge(resource);
    expect(failures).toEqual([]);

    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('ORDERS');
    expect(info.config).toMatchObject({
      subjects: ['orderflow.events.>'],
      max_age: 24 * 3600 * 1e9,
      duplicate_window: 60 * 1e9,
      num_replicas: 1,
      storage: 'file',
    });
    expect((await jsm.streams.info('ORDERS_DLQ')).config.subjects).toEqual([
      'orderflow.deadletter.>',
    ]);
    const query = await jsm.consumers.info('ORDERS', 'order-query');
    expect(query.config).toMatchObject({
      durable_name: 'order-query',
      ack_policy: 'explicit',
      ack_wait: 45e9,
      max_deliver: -1,
      max_ack_pending: 500,
      filter_subject: 'orderflow.events.>',
    });

    const again = reconcile(resource, await observe(resource), Date.now());
    expect(
      again.actions.filter((a) => a.type !== 'WriteConfigMap' && a.type !== 'PatchStatus'),
    ).toEqual([]);
  });

  it('when the resource changes maxAge and consumer tunables, then the stream and consumer are updated in place', async () => {
    const resource = orderFlow({
      eventBus: {
        maxAge: '48h',
        consumers: { payment: { ackWait: '10s', maxDeliver: 3, maxAckPending: 32 } },
      },
    });
    const { result, failures } = await converge(resource);
    expect(result.actions.map((a) => a.type)).toEqual(
      expect.arrayContaining(['UpdateStream', 'UpdateConsumer']),
    );
    expect(failures).toEqual([]);

    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('ORDERS')).config.max_age).toBe(48 * 3600 * 1e9);
    expect((await jsm.consumers.info('ORDERS', 'payment')).config).toMatchObject({
      ack_wait: 10e9,
      max_deliver: -1,
      max_ack_pending: 32,
    });
  });

  it('when a service created a consumer with a server-side max_deliver, then the operator resets it to unlimited', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.update('ORDERS', 'saga', { max_deliver: 4 });
    const { result, failures } = await converge(
      orderFlow({
        eventBus: {
          maxAge: '48h',
          consumers: { payment: { ackWait: '10s', maxDeliver: 3, maxAckPending: 32 } },
        },
      }),
    );
    expect(result.actions).toContainEqual(
      expect.objectContaining({
        type: 'UpdateConsumer',
        config: expect.objectContaining({ name: 'saga' }),
      }),
    );
    expect(failures).toEqual([]);
    expect((await jsm.consumers.info('ORDERS', 'saga')).config.max_deliver).toBe(-1);
  });

  it('when replicas 3 are asked of this single server, then no update is tried and drift is reported', async () => {
    const resource = orderFlow({
      eventBus: {
        maxAge: '48h',
        replicas: 3,
        consumers: { payment: { ackWait: '10s', maxDeliver: 3, maxAckPending: 32 } },
      },
    });
    const { result, failures } = await converge(resource);
    expect(failures).toEqual([]);
    expect(result.status.conditions.find((c) => c.type === 'StreamReady')).toMatchObject({
      status: 'False',
      reason: 'StreamDrift',
    });
  });

  it('when messages are pending and some are delivered but unacknowledged, then lag = num_pending + num_ack_pending', async () => {
    const js = jetstream(nc);
    for (let i = 0; i < 10; i++)
      await js.publish(`orderflow.events.order-created`, JSON.stringify({ i }), {
        msgID: `lag-${i}`,
      });
    const consumer = await js.consumers.get('ORDERS', 'order-query');
    const batch = await consumer.fetch({ max_messages: 3, expires: 2000 });
    const received = [];
    for await (const m of batch) received.push(m);
    expect(received).toHaveLength(3);
    received[0]!.ack();
    await nc.flush();

    const observed = await port.observe(['ORDERS'], 'ORDERS', ['order-query']);
    if (!observed.reachable) throw new Error(observed.message);
    expect(observed.consumers['order-query']).toMatchObject({ numPending: 7, numAckPending: 2 });

    const resource = orderFlow({
      queryWorkers: { minReplicas: 1, maxReplicas: 5, targetLagPerReplica: 4 },
    });
    const result = reconcile(resource, await observe(resource), Date.now());
    expect(result.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', from: 1, to: 3 }),
    );
    expect(result.status.queryWorkers.lag).toBe(9);
  });

  it('when the server is gone, then observe reports it unreachable instead of throwing', async () => {
    const other = await startTestNats();
    const conn = await other.connect();
    const adapter = createJetStreamAdapter(conn);
    await conn.close();
    await other.stop();
    const observed = await adapter.observe(['ORDERS'], 'ORDERS', ['payment']);
    expect(observed.reachable).toBe(false);
  }, 20_000);
});
