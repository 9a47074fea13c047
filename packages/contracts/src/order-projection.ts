import type { OrderEvent } from '@orderflow/events';
import { finalOrderStatuses, type OrderRecord } from './order-read-model';

/**
 * The pure projection of one order's events into its read-model row (DESIGN §4, docs/flow.md).
 * The order-query-worker writes the `orders` table with it; the order API folds an order's stream
 * with it to fill a gap in the live feed of `GET /api/orders/:id/events` (docs/services.md), so
 * both derive the same row from the same events. No I/O and no clock: timestamps come from the
 * events.
 */

/** An event of an order's stream with its position and commit time. */
export interface VersionedEvent {
  version: number;
  createdAt: string;
  event: OrderEvent;
}

export type ProjectionResult = OrderRecord | 'duplicate' | 'gap';

/**
 * Applies one event when it is the next one: `order-created` must be version 0 of an order not
 * seen yet; any later event must be `current.version + 1`. A version at or below the current one is
 * a duplicate; a version further on (or anything but `order-created` first) is a gap, retried later
 * until the missing events arrive.
 */
export function project(current: OrderRecord | undefined, e: VersionedEvent): ProjectionResult {
  if (!current) return e.version === 0 ? created(e) : 'gap';
  if (e.version <= current.version) return 'duplicate';
  if (e.version > current.version + 1) return 'gap';
  const next: OrderRecord = { ...current, version: e.version, updatedAt: e.createdAt };
  // Once Approved or Cancelled, later events advance the version but never the status.
  if (finalOrderStatuses.has(current.status))
    return e.event.type === 'order-payment-refunded' ? { ...next, refunded: true } : next;
  return { ...next, ...changeOf(e.event) };
}

/** The row of a new order, from its `order-created` (version 0). */
function created(e: VersionedEvent): OrderRecord | 'gap' {
  if (e.event.type !== 'order-created') return 'gap';
  const d = e.event.data;
  return {
    orderId: d.orderId,
    customerId: d.customerId,
    restaurantId: d.restaurantId,
    items: d.items,
    amount: d.amount,
    status: 'Pending',
    version: 0,
    cancellationReason: null,
    refunded: false,
    createdAt: e.createdAt,
    updatedAt: e.createdAt,
  };
}

/** What an event changes in a row that is not final yet. */
function changeOf(ev: OrderEvent): Partial<OrderRecord> {
  switch (ev.type) {
    case 'order-created':
    case 'order-refund-requested':
      return {};
    case 'order-payment-debited':
      return { status: 'Paid' };
    case 'order-payment-declined':
      return { status: 'PaymentDeclined' };
    case 'order-approved':
      return { status: 'Approved' };
    case 'order-rejected':
      return { status: 'Rejected' };
    case 'order-payment-refunded':
      return { status: 'Refunded', refunded: true };
    case 'order-cancelled':
      return { status: 'Cancelled', cancellationReason: ev.data.reason };
    default: {
      const never: never = ev;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** Thrown by `foldOrder` when the events skip a version. */
export class VersionGapError extends Error {
  override name = 'VersionGapError';
}

/**
 * Folds an order's events (in version order) into its read-model row, as the worker would:
 * duplicates are skipped; a gap throws. Undefined when there are no events.
 */
export function foldOrder(events: Iterable<VersionedEvent>): OrderRecord | undefined {
  let state: OrderRecord | undefined;
  for (const e of events) {
    const r = project(state, e);
    if (r === 'duplicate') continue;
    if (r === 'gap')
      throw new VersionGapError(
        `gap before version ${e.version} (at version ${state?.version ?? -1})`,
      );
    state = r;
  }
  return state;
}
