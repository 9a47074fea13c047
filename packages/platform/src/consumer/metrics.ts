import type { Registry } from 'prom-client';
import { counter, gauge, histogram } from '../metrics';

/** The metrics of one durable consumer (every consuming service exposes the same names). */
export function consumerMetrics(registry: Registry) {
  gauge(registry, {
    name: 'orderflow_consumer_lag',
    help: 'Consumer lag from JetStream: messages pending plus acknowledgements pending.',
    labelNames: ['consumer'] as const,
  });
  return {
    handled: counter(registry, {
      name: 'orderflow_consumer_messages_total',
      help: 'Messages handled by consumer, event type and outcome (acked, duplicate, ignored, nak, terminated).',
      labelNames: ['consumer', 'event_type', 'outcome'] as const,
    }),
    duration: histogram(registry, {
      name: 'orderflow_consumer_handle_duration_seconds',
      help: 'Time to handle one message, by consumer and event type.',
      labelNames: ['consumer', 'event_type'] as const,
    }),
    redeliveries: counter(registry, {
      name: 'orderflow_consumer_redeliveries_total',
      help: 'Messages delivered more than once.',
      labelNames: ['consumer'] as const,
    }),
    deadLetters: counter(registry, {
      name: 'orderflow_dead_letters_total',
      help: 'Messages terminated and recorded on the dead-letter subject, by reason.',
      labelNames: ['consumer', 'reason'] as const,
    }),
    inFlight: gauge(registry, {
      name: 'orderflow_consumer_in_flight',
      help: 'Messages being handled now.',
      labelNames: ['consumer'] as const,
    }),
    lag: registry.getSingleMetric('orderflow_consumer_lag') as ReturnType<typeof gauge<'consumer'>>,
    pending: gauge(registry, {
      name: 'orderflow_consumer_pending_messages',
      help: 'Messages not yet delivered to the consumer.',
      labelNames: ['consumer'] as const,
    }),
    ackPending: gauge(registry, {
      name: 'orderflow_consumer_ack_pending_messages',
      help: 'Messages delivered and not yet acknowledged.',
      labelNames: ['consumer'] as const,
    }),
  };
}
export type ConsumerMetrics = ReturnType<typeof consumerMetrics>;
