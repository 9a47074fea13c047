import { histogram, type Envelope, type Registry } from '@orderflow/platform';
import type { OrderRecord } from '@orderflow/contracts';

/** From seconds to minutes: a timed-out order takes the saga's timeout (30 s to 60 s by default). */
export const END_TO_END_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const finals = {
  'order-approved': { status: 'Approved', outcome: 'approved' },
  'order-cancelled': { status: 'Cancelled', outcome: 'cancelled' },
} as const;

/**
 * `orderflow_order_end_to_end_seconds{outcome}`: from the commit of `order-created` to the commit
 * of the event that gave the order its final state (`Approved` or `Cancelled`), observed once, by
 * the replica whose projection applied that event. Both times come from the event store's clock.
 * Best effort: a failed look-up skips the observation and never fails the message.
 */
export function endToEndLatency(
  registry: Registry,
  orders: { get(orderId: string): Promise<OrderRecord | undefined> },
): (orderId: string, applied: Envelope) => Promise<void> {
  const seconds = histogram(registry, {
    name: 'orderflow_order_end_to_end_seconds',
    help: 'Time from order-created to the final state (approved or cancelled), by outcome.',
    labelNames: ['outcome'] as const,
    buckets: END_TO_END_BUCKETS,
  });
  return async (orderId, applied) => {
    if (applied.eventType !== 'order-approved' && applied.eventType !== 'order-cancelled') return;
    const final = finals[applied.eventType];
    const view = await orders.get(orderId).catch(() => undefined);
    // Only the event that set the final state counts (a later event only moves the version).
    if (!view || view.status !== final.status || view.version !== applied.version) return;
    const s = (Date.parse(applied.createdAt) - Date.parse(view.createdAt)) / 1000;
    if (Number.isFinite(s) && s >= 0) seconds.observe({ outcome: final.outcome }, s);
  };
}
