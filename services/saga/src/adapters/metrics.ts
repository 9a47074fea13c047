import { counter, gauge, type Registry } from '@orderflow/platform';
import type { SagaMetrics } from '../application/ports';
import { instanceStatuses } from '../domain/workflow';
import type { SagaInstances } from './pg-instances';

export function sagaMetrics(registry: Registry): SagaMetrics {
  return {
    decisions: counter(registry, {
      name: 'orderflow_saga_decisions_total',
      help: 'Saga decisions by kind: request_refund, cancel (appended), wait (a deadline is running), none.',
      labelNames: ['decision'] as const,
    }),
    approved: counter(registry, {
      name: 'orderflow_orders_approved_total',
      help: 'Orders the saga saw reach Approved.',
    }),
    cancelled: counter(registry, {
      name: 'orderflow_orders_cancelled_total',
      help: 'Orders the saga saw reach Cancelled, by cancellation reason.',
      labelNames: ['reason'] as const,
    }),
    timeoutsFired: counter(registry, {
      name: 'orderflow_saga_timeouts_total',
      help: 'Timeouts that made the saga act, by kind (payment, restaurant).',
      labelNames: ['kind'] as const,
    }),
    conflicts: counter(registry, {
      name: 'orderflow_saga_version_conflicts_total',
      help: 'Saga appends refused because the stream moved on (read again and decide again).',
    }),
    histories: counter(registry, {
      name: 'orderflow_saga_histories_total',
      help: 'Order histories the saga decided on, by source: known (the one it had, extended by the message) or read (ReadStream).',
      labelNames: ['source'] as const,
    }),
  };
}

/** Gauges read from the saga_instances table at scrape time. */
export function instanceGauges(registry: Registry, instances: SagaInstances): void {
  gauge(registry, {
    name: 'orderflow_saga_instances',
    help: 'Saga instances by state (from the saga_instances table, read at scrape).',
    labelNames: ['state'] as const,
    async collect() {
      const counts = await instances.countByState();
      for (const s of instanceStatuses) this.set({ state: s }, counts.get(s) ?? 0);
    },
  });
  gauge(registry, {
    name: 'orderflow_saga_oldest_in_flight_age_seconds',
    help: 'Age of the oldest order not yet Approved or Cancelled (0 when none).',
    async collect() {
      this.set(await instances.oldestInFlightAgeSeconds());
    },
  });
}

export const txRetriesCounter = (registry: Registry) =>
  counter(registry, {
    name: 'orderflow_saga_tx_retries_total',
    help: 'Transactions run again after SQLSTATE 40001 (serialization failure).',
  });
