import { parseOrderFlow, type OrderFlow } from '../../src/domain/spec';
import type { ConsumerObserved, Observed, StreamObserved } from '../../src/domain/types';

export function orderFlow(
  spec: Record<string, unknown> = {},
  meta: Partial<OrderFlow['metadata']> = {},
): OrderFlow {
  return parseOrderFlow({
    apiVersion: 'orderflow.io/v1alpha1',
    kind: 'OrderFlow',
    metadata: { name: 'shop', namespace: 'prod', uid: 'uid-1', generation: 1, ...meta },
    spec,
  });
}

export function stream(overrides: Partial<StreamObserved> = {}): StreamObserved {
  return {
    name: 'ORDERS',
    subjects: ['orderflow.events.>'],
    storage: 'file',
    replicas: 1,
    maxAgeMs: 168 * 3_600_000,
    duplicateWindowMs: 120_000,
    retention: 'limits',
    ...overrides,
  };
}

export function consumer(
  name: string,
  overrides: Partial<ConsumerObserved> = {},
): ConsumerObserved {
  return {
    name,
    ackPolicy: 'explicit',
    deliverPolicy: 'all',
    push: false,
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 256,
    numPending: 0,
    numAckPending: 0,
    ...overrides,
  };
}

/** JetStream as the default resource wants it: both streams and all four consumers in place. */
export function inSync(
  overrides: Partial<Observed> = {},
  consumerOverrides: Record<string, Partial<ConsumerObserved>> = {},
): Observed {
  return {
    jetstream: {
      reachable: true,
      clustered: false,
      streams: {
        ORDERS: stream(),
        ORDERS_DLQ: stream({
          name: 'ORDERS_DLQ',
          subjects: ['orderflow.deadletter.>'],
          maxAgeMs: 720 * 3_600_000,
        }),
      },
      consumers: Object.fromEntries(
        ['payment', 'restaurant', 'order-query', 'saga'].map((n) => [
          n,
          consumer(n, consumerOverrides[n] ?? {}),
        ]),
      ),
    },
    runtimeConfigMap: null,
    catalog: { state: 'notConfigured' },
    scale: { replicas: 1 },
    status: undefined,
    history: undefined,
    ...overrides,
  };
}
