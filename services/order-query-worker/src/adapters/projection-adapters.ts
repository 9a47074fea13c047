import { counter, type Pool, type Registry } from '@orderflow/platform';
import type { ProjectionPorts } from '../application/project-event';
import { endToEndLatency } from './order-latency-metric';
import { orderFeed, type OrderFeed } from './order-feed';
import { PgOrders } from './pg-orders';

/** The worker's adapters on its pool and registry: the read model, its metrics, the live feed. */
export function projectionAdapters(
  pool: Pool,
  registry: Registry,
): ProjectionPorts & { orders: PgOrders; feed: OrderFeed } {
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
  // The row just written is in memory: announced without a read.
  const feed = orderFeed(registry, (orderId) => orders.remembered(orderId));
  return { orders, projected, observeApplied, feed, announce: feed.announce };
}
