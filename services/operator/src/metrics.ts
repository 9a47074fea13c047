import { counter, gauge, histogram, type Registry } from '@orderflow/platform';

export function createOperatorMetrics(registry: Registry) {
  return {
    reconciles: counter(registry, {
      name: 'orderflow_operator_reconciles_total',
      help: 'Reconciles of OrderFlow resources by result (success, error, skipped)',
      labelNames: ['result'] as const,
    }),
    reconcileDuration: histogram(registry, {
      name: 'orderflow_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile, observation and actions included',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    consumerLag: gauge(registry, {
      name: 'orderflow_operator_consumer_lag',
      help: 'num_pending + num_ack_pending of each durable consumer',
      labelNames: ['orderflow', 'consumer'] as const,
    }),
    desiredReplicas: gauge(registry, {
      name: 'orderflow_operator_desired_replicas',
      help: 'Query-worker replicas the operator wants after stabilization',
      labelNames: ['orderflow'] as const,
    }),
    leader: gauge(registry, {
      name: 'orderflow_operator_leader',
      help: '1 while this instance holds the leader Lease',
    }),
    watchRestarts: counter(registry, {
      name: 'orderflow_operator_watch_restarts_total',
      help: 'Restarts of the OrderFlow watch',
    }),
  };
}
export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
