import { deterministicEventId, type EventOf, type OrderEvent } from '@orderflow/events';
import type { Restaurant } from '@orderflow/menu';

/**
 * The restaurant's rules, pure: whether to approve an order, and what to do given the order's
 * stream as it was read (docs/flow.md).
 */

export interface OrderToDecide {
  orderId: string;
  restaurantId: string;
  items: { code: string; unitPrice: number }[];
}

export type Decision = { decision: 'approved' } | { decision: 'rejected'; reason: string };

/**
 * Approved when the restaurant exists, is open, knows every item code and still charges the price
 * the order was priced at. The order API priced the order from the same menu, so a rejection here
 * means the menu changed between the order and this decision (and the saga refunds the order).
 */
export function decide(order: OrderToDecide, restaurant: Restaurant | undefined): Decision {
  if (!restaurant)
    return { decision: 'rejected', reason: `unknown restaurant ${order.restaurantId}` };
  if (!restaurant.open)
    return { decision: 'rejected', reason: `restaurant ${restaurant.id} is closed` };
  const menu = new Map(restaurant.menu.map((i) => [i.code, i.priceCents]));
  for (const item of order.items) {
    const price = menu.get(item.code);
    if (price === undefined)
      return { decision: 'rejected', reason: `unknown item code ${item.code}` };
    if (price !== item.unitPrice)
      return {
        decision: 'rejected',
        reason: `price of ${item.code} changed from ${item.unitPrice} to ${price}`,
      };
  }
  return { decision: 'approved' };
}

export const decisionEventId = (orderId: string): string =>
  deterministicEventId('restaurant-decision', orderId);

export function decisionEvent(
  order: OrderToDecide,
  d: Decision,
): EventOf<'order-approved'> | EventOf<'order-rejected'> {
  switch (d.decision) {
    case 'approved':
      return {
        type: 'order-approved',
        data: { orderId: order.orderId, restaurantId: order.restaurantId },
      };
    case 'rejected':
      return {
        type: 'order-rejected',
        data: { orderId: order.orderId, restaurantId: order.restaurantId, reason: d.reason },
      };
    default: {
      const never: never = d;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}

/** An event of the order's stream as read from the event store, checked against the catalogue. */
export interface StreamEvent {
  eventId: string;
  event: OrderEvent;
}

export type Assessment =
  /** Our decision is in the stream already (a redelivery, or a conflict we caused ourselves): record it and ack. */
  | { kind: 'already-decided'; restaurantId: string; decision: Decision }
  /** The saga gave up on the order (refund requested or cancelled): no decision may follow. */
  | {
      kind: 'too-late';
      restaurantId: string;
      because: 'order-refund-requested' | 'order-cancelled';
    }
  | { kind: 'decide'; order: OrderToDecide }
  /** The stream has no order-created: nothing to decide on. */
  | { kind: 'no-order' };

/** What to do about an order, given its stream as read. */
export function assess(orderId: string, events: readonly StreamEvent[]): Assessment {
  const mine = decisionEventId(orderId);
  const own = events.find((e) => e.eventId === mine);
  if (own?.event.type === 'order-approved')
    return {
      kind: 'already-decided',
      restaurantId: own.event.data.restaurantId,
      decision: { decision: 'approved' },
    };
  if (own?.event.type === 'order-rejected')
    return {
      kind: 'already-decided',
      restaurantId: own.event.data.restaurantId,
      decision: { decision: 'rejected', reason: own.event.data.reason },
    };
  let order: OrderToDecide | undefined;
  for (const { event } of events) {
    switch (event.type) {
      case 'order-created':
        order = { orderId, restaurantId: event.data.restaurantId, items: event.data.items };
        break;
      case 'order-refund-requested':
      case 'order-cancelled':
        return { kind: 'too-late', restaurantId: order?.restaurantId ?? '', because: event.type };
      case 'order-payment-debited':
      case 'order-payment-declined':
      case 'order-approved':
      case 'order-rejected':
      case 'order-payment-refunded':
        break;
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }
  return order ? { kind: 'decide', order } : { kind: 'no-order' };
}
