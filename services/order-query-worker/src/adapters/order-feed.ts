import {
  streamEventOf,
  subjects,
  type OrderRecord,
  type ProjectedOrder,
  type VersionedEvent,
} from '@orderflow/contracts';
import { counter, type NatsConnection, type Registry } from '@orderflow/platform';

/**
 * The live order feed's publishing end: after the projection applied an event, the row it wrote
 * and the event go out on `orderflow.projected.order.<id>` (NATS core: no stream, no ack). The
 * order API's `GET /api/orders/:id/events` follows it. Losing a message costs only latency: the
 * reader fills a gap from the event store, and its sweep catches a row that moved silently.
 */
export interface OrderFeed {
  announce: (orderId: string, applied: VersionedEvent) => void;
  /** Publishing starts once the consumer's NATS connection is there. */
  bind: (nc: NatsConnection) => void;
}

export function orderFeed(
  registry: Registry,
  rowAfter: (orderId: string) => OrderRecord | undefined,
): OrderFeed {
  const published = counter(registry, {
    name: 'orderflow_query_announced_total',
    help: 'Projected rows announced on the live order feed, by result (published, skipped: no connection or row in memory).',
    labelNames: ['result'] as const,
  });
  let nc: NatsConnection | undefined;
  return {
    bind: (connection) => {
      nc = connection;
    },
    announce: (orderId, applied) => {
      const order = rowAfter(orderId);
      // Only the row this event made: a later one is announced by its own event.
      if (!nc || nc.isClosed() || !order || order.version !== applied.version) {
        published.inc({ result: 'skipped' });
        return;
      }
      const message: ProjectedOrder = { order, event: streamEventOf(applied) };
      try {
        nc.publish(subjects.projectedOrder(orderId), JSON.stringify(message));
        published.inc({ result: 'published' });
      } catch {
        published.inc({ result: 'skipped' });
      }
    },
  };
}
