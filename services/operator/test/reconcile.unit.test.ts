import { applyFailures, reconcile, type RuntimeConfig } from '../src/domain/reconcile';
import type { Action, Observed } from '../src/domain/types';
import { consumer, inSync, orderFlow } from './helpers/fixtures';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const types = (actions: Action[]) => actions.map((a) => a.type);
const condition = (result: ReturnType<typeof reconcile>, type: string) =>
  result.status.conditions.find((c) => c.type === type);

/** Reconciles a resource whose restaurant catalog comes from the ConfigMap `menu`. */
function withMenu(observed: Observed) {
  const result = reconcile(orderFlow({ restaurant: { catalog: { name: 'menu' } } }), observed, NOW);
  const write = result.actions.find((a) => a.type === 'WriteConfigMap') as Extract<
    Action,
    { type: 'WriteConfigMap' }
  >;
  return { result, write };
}

describe('reconcile: create', () => {
  it('when nothing exists yet, then it creates both streams, the four consumers, the runtime ConfigMap and reports status', () => {
    const observed: Observed = {
      ...inSync(),
      jetstream: { reachable: true, clustered: false, streams: {}, consumers: {} },
    };
    const result = reconcile(orderFlow(), observed, NOW);

    expect(types(result.actions)).toEqual([
      'CreateStream',
      'CreateStream',
      'CreateConsumer',
      'CreateConsumer',
      'CreateConsumer',
      'CreateConsumer',
      'WriteConfigMap',
      'PatchStatus',
    ]);
    const [main, dlq] = result.actions;
    expect(main).toMatchObject({
      config: {
        name: 'ORDERS',
        subjects: ['orderflow.events.>'],
        storage: 'file',
        replicas: 1,
        maxAgeMs: 604_800_000,
        duplicateWindowMs: 120_000,
      },
    });
    expect(dlq).toMatchObject({
      config: { name: 'ORDERS_DLQ', subjects: ['orderflow.deadletter.>'] },
    });
    expect(result.actions[2]).toMatchObject({
      config: {
        stream: 'ORDERS',
        name: 'payment',
        ackWaitMs: 30_000,
        maxDeliver: 5,
        maxAckPending: 256,
      },
    });
    expect(condition(result, 'ConsumersReady')).toMatchObject({
      status: 'False',
      reason: 'ConsumerMissing',
    });
    expect(result.status.observedGeneration).toBe(1);
  });

  it('when the runtime ConfigMap is missing, then it is created with the runtime.json the services read and an owner reference', () => {
    const result = reconcile(
      orderFlow({ saga: { paymentTimeout: '45s' }, payment: { defaultCredit: 5000 } }),
      inSync(),
      NOW,
    );
    const write = result.actions.find((a) => a.type === 'WriteConfigMap');

    expect(write).toMatchObject({
      name: 'shop-runtime',
      namespace: 'prod',
      create: true,
      ownerReference: { kind: 'OrderFlow', name: 'shop', uid: 'uid-1', controller: true },
    });
    const runtime = JSON.parse(
      (write as Extract<Action, { type: 'WriteConfigMap' }>).data['runtime.json']!,
    ) as RuntimeConfig;
    expect(runtime).toEqual({
      saga: { paymentTimeoutMs: 45_000, restaurantTimeoutMs: 60_000 },
      payment: { defaultCreditCents: 5000 },
      consumers: {
        payment: { ackWaitMs: 30_000, maxDeliver: 5, maxAckPending: 256 },
        restaurant: { ackWaitMs: 30_000, maxDeliver: 5, maxAckPending: 256 },
        'order-query': { ackWaitMs: 30_000, maxDeliver: 5, maxAckPending: 256 },
        saga: { ackWaitMs: 30_000, maxDeliver: 5, maxAckPending: 256 },
      },
    });
  });

  it('when the catalog ConfigMap is found, then its JSON goes into runtime.json under restaurant.catalog', () => {
    const observed = inSync({ catalog: { state: 'found', text: '{"restaurants":[{"id":"r1"}]}' } });
    const { result, write } = withMenu(observed);

    expect((JSON.parse(write.data['runtime.json']!) as RuntimeConfig).restaurant).toEqual({
      catalog: { restaurants: [{ id: 'r1' }] },
    });
    expect(condition(result, 'ConfigApplied')).toMatchObject({ status: 'True' });
  });
});

describe('reconcile: update', () => {
  it('when everything matches, then the only action is the first status write, and a second pass does nothing', () => {
    const first = reconcile(orderFlow(), inSync(), NOW);
    const write = first.actions.find((a) => a.type === 'WriteConfigMap') as Extract<
      Action,
      { type: 'WriteConfigMap' }
    >;
    const second = reconcile(
      orderFlow(),
      inSync({
        runtimeConfigMap: { data: write.data },
        status: first.status,
        history: first.history,
      }),
      NOW + 1000,
    );

    expect(second.actions).toEqual([]);
    expect(condition(second, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Reconciled',
      lastTransitionTime: condition(first, 'Ready')!.lastTransitionTime,
    });
  });

  it('when maxAge, duplicateWindow and a consumer tunable change, then the stream and that consumer are updated in place', () => {
    const resource = orderFlow({
      eventBus: {
        maxAge: '24h',
        duplicateWindow: '5m',
        consumers: { saga: { ackWait: '1m', maxAckPending: 64 } },
      },
    });
    const result = reconcile(resource, inSync(), NOW);

    const update = result.actions.find((a) => a.type === 'UpdateStream');
    expect(update).toMatchObject({
      config: { name: 'ORDERS', maxAgeMs: 86_400_000, duplicateWindowMs: 300_000 },
    });
    expect((update as Extract<Action, { type: 'UpdateStream' }>).changes).toHaveLength(2);
    const consumerUpdates = result.actions.filter((a) => a.type === 'UpdateConsumer');
    expect(consumerUpdates).toEqual([
      {
        type: 'UpdateConsumer',
        config: {
          stream: 'ORDERS',
          name: 'saga',
          ackWaitMs: 60_000,
          maxDeliver: 5,
          maxAckPending: 64,
        },
        changes: ['ackWait 30000ms -> 60000ms', 'maxAckPending 256 -> 64'],
      },
    ]);
    expect(condition(result, 'ConsumersReady')).toMatchObject({
      status: 'True',
      reason: 'ConsumersInSync',
    });
  });

  it('when the generation changes, then status and every condition carry the new observedGeneration', () => {
    const result = reconcile(orderFlow({}, { generation: 7 }), inSync(), NOW);
    expect(result.status.observedGeneration).toBe(7);
    expect(result.status.conditions.every((c) => c.observedGeneration === 7)).toBe(true);
  });

  it('when a JetStream update fails, then its condition turns False with the error and Ready follows', () => {
    const result = reconcile(orderFlow({ eventBus: { maxAge: '1h' } }), inSync(), NOW);
    const update = result.actions.find((a) => a.type === 'UpdateStream')!;
    const status = applyFailures(
      result.status,
      [{ action: update, message: 'stream update refused' }],
      undefined,
      NOW,
    );

    expect(status.conditions.find((c) => c.type === 'StreamReady')).toMatchObject({
      status: 'False',
      reason: 'StreamUpdateFailed',
      message: 'stream update refused',
    });
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'StreamNotReady',
    });
  });
});

describe('reconcile: drift that cannot be changed in place', () => {
  it('when the stream has memory storage and the resource says file, then no storage change is attempted and StreamReady is False', () => {
    const observed = inSync();
    if (observed.jetstream.reachable) observed.jetstream.streams.ORDERS!.storage = 'memory';
    const result = reconcile(orderFlow(), observed, NOW);

    expect(types(result.actions)).not.toContain('UpdateStream');
    expect(condition(result, 'StreamReady')).toMatchObject({
      status: 'False',
      reason: 'StreamDrift',
    });
    expect(condition(result, 'StreamReady')!.message).toMatch(/cannot change storage in place/);
    expect(condition(result, 'Ready')).toMatchObject({ status: 'False', reason: 'StreamNotReady' });
  });

  it('when 3 replicas are asked of a server that is not clustered, then drift is reported and other changes still apply with the old replicas', () => {
    const result = reconcile(
      orderFlow({ eventBus: { replicas: 3, maxAge: '48h' } }),
      inSync(),
      NOW,
    );
    const update = result.actions.find(
      (a) => a.type === 'UpdateStream' && a.config.name === 'ORDERS',
    );

    expect(update).toMatchObject({ config: { replicas: 1, maxAgeMs: 172_800_000 } });
    expect(condition(result, 'StreamReady')).toMatchObject({
      status: 'False',
      reason: 'StreamDrift',
    });
    expect(condition(result, 'StreamReady')!.message).toMatch(/not clustered/);
  });

  it('when 3 replicas are asked of a clustered server, then the replicas are updated in place', () => {
    const observed = inSync();
    if (observed.jetstream.reachable) observed.jetstream.clustered = true;
    const result = reconcile(orderFlow({ eventBus: { replicas: 3 } }), observed, NOW);

    expect(result.actions.filter((a) => a.type === 'UpdateStream')).toHaveLength(2);
    expect(condition(result, 'StreamReady')).toMatchObject({ status: 'True' });
  });

  it('when a consumer was created with ack policy none, then ConsumersReady is False with ConsumerDrift', () => {
    const result = reconcile(orderFlow(), inSync({}, { payment: { ackPolicy: 'none' } }), NOW);
    expect(condition(result, 'ConsumersReady')).toMatchObject({
      status: 'False',
      reason: 'ConsumerDrift',
    });
  });
});

describe('reconcile: deletion (ownerReferences, no finalizer)', () => {
  it('when the resource is being deleted, then nothing is changed and the scaling history is dropped', () => {
    const resource = orderFlow({}, { deletionTimestamp: '2026-01-01T00:00:00Z' });
    const result = reconcile(resource, inSync({ history: { since: 0, recommendations: [] } }), NOW);
    expect(result.actions).toEqual([]);
    expect(result.history).toBeUndefined();
  });

  it('when the resource is gone, then nothing is changed: the stream keeps its events and the GC removes the ConfigMap', () => {
    expect(reconcile(null, inSync(), NOW).actions).toEqual([]);
  });
});

describe('reconcile: missing consumer and missing pieces', () => {
  it('when the order-query consumer is missing, then ConsumersReady is False and the workers are not scaled (never to max)', () => {
    const observed = inSync({ scale: { replicas: 2 } });
    if (observed.jetstream.reachable) observed.jetstream.consumers['order-query'] = null;
    const result = reconcile(orderFlow(), observed, NOW);

    expect(types(result.actions)).not.toContain('ScaleDeployment');
    expect(result.actions).toContainEqual(
      expect.objectContaining({
        type: 'CreateConsumer',
        config: expect.objectContaining({ name: 'order-query' }),
      }),
    );
    expect(condition(result, 'ConsumersReady')).toMatchObject({
      status: 'False',
      reason: 'ConsumerMissing',
    });
    expect(condition(result, 'Scaling')).toMatchObject({ status: 'False', reason: 'LagUnknown' });
  });

  it('when NATS is unreachable, then the ConfigMap is still written, the stream conditions are Unknown and no scaling happens', () => {
    const result = reconcile(
      orderFlow(),
      inSync({ jetstream: { reachable: false, message: 'connection refused' } }),
      NOW,
    );
    expect(types(result.actions)).toEqual(['WriteConfigMap', 'PatchStatus']);
    expect(condition(result, 'StreamReady')).toMatchObject({
      status: 'Unknown',
      reason: 'NatsUnavailable',
    });
    expect(condition(result, 'Ready')).toMatchObject({ status: 'Unknown' });
  });

  it('when the catalog ConfigMap disappears, then the previous catalog is kept and ConfigApplied is False', () => {
    const previous = JSON.stringify({ restaurant: { catalog: { restaurants: ['kept'] } } });
    const observed = inSync({
      runtimeConfigMap: { data: { 'runtime.json': previous } },
      catalog: { state: 'missing', message: 'ConfigMap menu not found' },
    });
    const { result, write } = withMenu(observed);

    expect((JSON.parse(write.data['runtime.json']!) as RuntimeConfig).restaurant?.catalog).toEqual({
      restaurants: ['kept'],
    });
    expect(write.create).toBe(false);
    expect(condition(result, 'ConfigApplied')).toMatchObject({
      status: 'False',
      reason: 'CatalogNotFound',
    });
  });

  it('when the query-worker Deployment does not exist, then Scaling is False and Ready does not depend on it', () => {
    const result = reconcile(orderFlow(), inSync({ scale: null }), NOW);
    expect(condition(result, 'Scaling')).toMatchObject({
      status: 'False',
      reason: 'DeploymentNotFound',
    });
    expect(condition(result, 'Ready')).toMatchObject({ status: 'True' });
  });
});

describe('reconcile: query-worker scaling', () => {
  const spec = {
    queryWorkers: {
      minReplicas: 1,
      maxReplicas: 5,
      targetLagPerReplica: 100,
      scaleDownStabilizationSeconds: 60,
    },
  };
  const lagged = (
    pending: number,
    ackPending: number,
    replicas: number,
    extra: Partial<Observed> = {},
  ) =>
    inSync(
      { scale: { replicas }, ...extra },
      { 'order-query': { numPending: pending, numAckPending: ackPending } },
    );

  it('when lag is 250 pending + 50 ack pending at 100 per replica, then it scales 1 -> 3 at once', () => {
    const result = reconcile(orderFlow(spec), lagged(250, 50, 1), NOW);
    expect(result.actions).toContainEqual({
      type: 'ScaleDeployment',
      name: 'shop-order-query-worker',
      namespace: 'prod',
      from: 1,
      to: 3,
      reason: 'ScaledUp',
    });
    expect(result.status.queryWorkers).toMatchObject({ replicas: 3, desiredReplicas: 3, lag: 300 });
    expect(result.status.consumers.find((c) => c.name === 'order-query')).toEqual({
      name: 'order-query',
      present: true,
      numPending: 250,
      numAckPending: 50,
      lag: 300,
    });
  });

  it('when lag is far above max, then it is clamped to maxReplicas and the reason says so', () => {
    const result = reconcile(orderFlow(spec), lagged(100_000, 0, 2), NOW);
    expect(result.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', to: 5, reason: 'LimitedByMax' }),
    );
  });

  it('when lag drops, then it scales down only after the lower count has held for the stabilization window', () => {
    const resource = orderFlow(spec);
    const high = reconcile(resource, lagged(400, 0, 4), NOW);
    expect(types(high.actions)).not.toContain('ScaleDeployment');

    const after30s = reconcile(resource, lagged(50, 0, 4, { history: high.history }), NOW + 30_000);
    expect(types(after30s.actions)).not.toContain('ScaleDeployment');
    expect(after30s.status.conditions.find((c) => c.type === 'Scaling')).toMatchObject({
      reason: 'ScaleDownStabilizing',
    });

    const after61s = reconcile(
      resource,
      lagged(50, 0, 4, { history: after30s.history }),
      NOW + 61_000,
    );
    expect(after61s.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', from: 4, to: 1, reason: 'ScaledDown' }),
    );
  });

  it('when the lag comes back within the window, then the scale-down waits for the highest recent recommendation', () => {
    const resource = orderFlow(spec);
    let history = reconcile(resource, lagged(400, 0, 4), NOW).history;
    history = reconcile(resource, lagged(50, 0, 4, { history }), NOW + 30_000).history;
    history = reconcile(resource, lagged(200, 0, 4, { history }), NOW + 50_000).history;
    const result = reconcile(resource, lagged(50, 0, 4, { history }), NOW + 75_000);
    expect(result.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', from: 4, to: 2 }),
    );
  });

  it('when the operator has just started (no history), then it does not scale down before a full window', () => {
    const result = reconcile(orderFlow(spec), lagged(0, 0, 4), NOW);
    expect(types(result.actions)).not.toContain('ScaleDeployment');
    const later = reconcile(
      orderFlow(spec),
      lagged(0, 0, 4, { history: result.history }),
      NOW + 60_000,
    );
    expect(later.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', to: 1 }),
    );
  });

  it('when maxReplicas is lowered below the running count, then it scales down at once', () => {
    const result = reconcile(
      orderFlow({ queryWorkers: { ...spec.queryWorkers, maxReplicas: 2 } }),
      lagged(1000, 0, 5),
      NOW,
    );
    expect(result.actions).toContainEqual(
      expect.objectContaining({ type: 'ScaleDeployment', from: 5, to: 2 }),
    );
  });

  it('when consumers other than order-query lag, then scaling ignores them', () => {
    const observed = lagged(0, 0, 1);
    if (observed.jetstream.reachable)
      observed.jetstream.consumers.payment = consumer('payment', { numPending: 10_000 });
    expect(types(reconcile(orderFlow(spec), observed, NOW).actions)).not.toContain(
      'ScaleDeployment',
    );
  });
});
