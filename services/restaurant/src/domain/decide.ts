import { deterministicEventId, type EventOf, type RecordedOrderEvent } from '@orderflow/events';
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
export type StreamEvent = Pick<RecordedOrderEvent, 'eventId' | 'event'>;

/** What the restaurant needs to know of an order's stream: the order, and who acted on it. */
export interface OrderSoFar {
  order?: OrderToDecide;
  /** Our own decision, when the stream holds it already. */
  decided?: { restaurantId: string; decision: Decision };
  /** The first refund request or cancellation: after it no decision may follow. */
  tooLate?: { restaurantId: string; because: 'order-refund-requested' | 'order-cancelled' };
}

export const initialOrderSoFar = (): OrderSoFar => ({});

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

const decisionOf = (ev: EventOf<'order-approved'> | EventOf<'order-rejected'>): Decision =>
  ev.type === 'order-approved'
    ? { decision: 'approved' }
    : { decision: 'rejected', reason: ev.data.reason };

/** Our own decision (by its deterministic id), the first one only. */
const withDecision = (
  state: OrderSoFar,
  eventId: string,
  ev: EventOf<'order-approved'> | EventOf<'order-rejected'>,
): OrderSoFar =>
  state.decided || eventId !== decisionEventId(ev.data.orderId)
    ? state
    : { ...state, decided: { restaurantId: ev.data.restaurantId, decision: decisionOf(ev) } };

/** The first refund request or cancellation. */
const withTooLate = (
  state: OrderSoFar,
  because: 'order-refund-requested' | 'order-cancelled',
): OrderSoFar =>
  state.tooLate
    ? state
    : { ...state, tooLate: { restaurantId: state.order?.restaurantId ?? '', because } };

/** The next state after one event of the order's stream. */
export function evolve(state: OrderSoFar, e: StreamEvent): OrderSoFar {
  const ev = e.event;
  switch (ev.type) {
    case 'order-created':
      return {
        ...state,
        order: {
          orderId: ev.data.orderId,
          restaurantId: ev.data.restaurantId,
          items: ev.data.items,
        },
      };
    case 'order-approved':
    case 'order-rejected':
      return withDecision(state, e.eventId, ev);
    case 'order-refund-requested':
    case 'order-cancelled':
      return withTooLate(state, ev.type);
    case 'order-payment-debited':
    case 'order-payment-declined':
    case 'order-payment-refunded':
      return state;
    default: {
      const never: never = ev;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** What to do about an order, given what its stream says. */
export function assessState(s: OrderSoFar): Assessment {
  if (s.decided) return { kind: 'already-decided', ...s.decided };
  if (s.tooLate) return { kind: 'too-late', ...s.tooLate };
  return s.order ? { kind: 'decide', order: s.order } : { kind: 'no-order' };
}

/** What to do about an order, given its stream as read. */
export const assess = (events: readonly StreamEvent[]): Assessment =>
  assessState(events.reduce(evolve, initialOrderSoFar()));
