import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration';

/**
 * The OrderFlow resource as the operator reads it. The CRD (k8s/crds/orderflow.io_orderflows.yaml)
 * is the definition the API server enforces; this schema repeats its defaults so that a resource
 * read from a file (plan mode) means the same as one read from the API server. A unit test checks
 * that both give the same defaults.
 */
export { CONSUMER_NAMES, type ConsumerName } from '@orderflow/contracts';

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'a duration such as 30s, 2m or 1h30m');

const consumerSpec = z.object({
  ackWait: duration.default('30s'),
  maxDeliver: z.number().int().min(1).max(100).default(5),
  maxAckPending: z.number().int().min(1).max(100_000).default(256),
});

const consumersSpec = z.object({
  payment: consumerSpec.default(consumerSpec.parse({})),
  restaurant: consumerSpec.default(consumerSpec.parse({})),
  'order-query': consumerSpec.default(consumerSpec.parse({})),
  saga: consumerSpec.default(consumerSpec.parse({})),
});

const eventBusSpec = z.object({
  streamName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('ORDERS'),
  replicas: z.number().int().min(1).max(5).default(1),
  storage: z.enum(['file', 'memory']).default('file'),
  maxAge: duration.default('168h'),
  duplicateWindow: duration.default('2m'),
  deadLetterMaxAge: duration.default('720h'),
  consumers: consumersSpec.default(consumersSpec.parse({})),
});

const queryWorkersSpec = z
  .object({
    minReplicas: z.number().int().min(0).max(100).default(1),
    maxReplicas: z.number().int().min(1).max(100).default(10),
    targetLagPerReplica: z.number().int().min(1).default(1000),
    scaleDownStabilizationSeconds: z.number().int().min(0).max(3600).default(300),
  })
  .refine((q) => q.minReplicas <= q.maxReplicas, {
    message: 'minReplicas must not exceed maxReplicas',
    path: ['minReplicas'],
  });

const sagaSpec = z.object({
  paymentTimeout: duration.default('30s'),
  restaurantTimeout: duration.default('60s'),
});
const paymentSpec = z.object({ defaultCredit: z.number().int().min(0).default(100_000) });
const restaurantSpec = z.object({
  catalog: z
    .object({ name: z.string().min(1), key: z.string().min(1).default('catalog.json') })
    .optional(),
});

export const orderFlowSpecSchema = z.object({
  eventBus: eventBusSpec.default(eventBusSpec.parse({})),
  queryWorkers: queryWorkersSpec.default(queryWorkersSpec.parse({})),
  saga: sagaSpec.default(sagaSpec.parse({})),
  payment: paymentSpec.default(paymentSpec.parse({})),
  restaurant: restaurantSpec.default({}),
});
export type OrderFlowSpec = z.infer<typeof orderFlowSpecSchema>;

export const orderFlowSchema = z.object({
  apiVersion: z.literal('orderflow.io/v1alpha1'),
  kind: z.literal('OrderFlow'),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: orderFlowSpecSchema.default(orderFlowSpecSchema.parse({})),
  status: z.record(z.string(), z.unknown()).optional(),
});
export type OrderFlow = z.infer<typeof orderFlowSchema>;

export function parseOrderFlow(input: unknown): OrderFlow {
  const result = orderFlowSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `invalid OrderFlow: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown error'}`,
    );
  }
  return result.data;
}

/** Millisecond view of the durations, used by the reconcile. */
export function durationsMs(spec: OrderFlowSpec) {
  return {
    maxAgeMs: parseDuration(spec.eventBus.maxAge),
    duplicateWindowMs: parseDuration(spec.eventBus.duplicateWindow),
    deadLetterMaxAgeMs: parseDuration(spec.eventBus.deadLetterMaxAge),
    paymentTimeoutMs: parseDuration(spec.saga.paymentTimeout),
    restaurantTimeoutMs: parseDuration(spec.saga.restaurantTimeout),
  };
}
