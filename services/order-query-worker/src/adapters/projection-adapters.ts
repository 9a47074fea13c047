import { counter, type Pool, type Registry } from '@orderflow/platform';
import type { ProjectionPorts } from '../application/project-event';
import { endToEndLatency } from './order-latency-metric';
import { PgOrders } from './pg-orders';

/** The worker's adapters on its pool and registry: the read model and its metrics. */
export function projectionAdapters(
  pool: Pool,
  registry: Registry,
): ProjectionPorts & { orders: PgOrders } {
  const orders = new PgOrders(pool);
  const projected = counter(registry, {
    name: 'orderflow_query_projected_total',
    help: 'Events projected into the orders read model, by event type and result (applied, duplicate, gap).',
    labelNames: ['event_type', 'result'] as const,
  });
  // Right after an apply, the row this replica wrote is in memory: no read for the latency.
  const observeApplied = endToEndLatency(registry, {
    get: async (orderId) => orders.remembered(orderId) ?? orders.get(orderId),
  });
  return { orders, projected, observeApplied };
}
