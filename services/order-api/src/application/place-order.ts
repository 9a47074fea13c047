import { eventSchemas } from '@orderflow/events';
import { priceOrder } from '@orderflow/menu';
import { customerForPlacement, type Principal } from '../domain/auth';
import {
  createdOrder,
  orderCreatedPayload,
  orderIdentity,
  sameOrder,
  validateIdempotencyKey,
  validatePlaceOrder,
  type CreatedOrder,
  type PlaceOrderRequest,
} from '../domain/order';
import { fail, refuse, validationFailure } from '../domain/problems';
import type { OrderApiPorts } from './ports';

export interface PlaceOrderCommand {
  principal: Principal;
  idempotencyKey: string | string[] | undefined;
  body: unknown;
  requestId: string;
  /** Hears the order id as soon as it is known (the request's span). */
  onOrderId?: (orderId: string) => void;
}

export interface PlacedOrder {
  order: CreatedOrder;
  /** True when this answers a retry of an order taken before (same Idempotency-Key). */
  replayed: boolean;
}

interface Identity {
  orderId: string;
  eventId: string;
  customerId: string;
  request: PlaceOrderRequest;
  requestId: string;
}

/** A replayed request answers the stored order, if it is the same order. */
async function replay(ports: OrderApiPorts, id: Identity): Promise<PlacedOrder | undefined> {
  const stored = await ports.events.readOrderCreated(id.orderId);
  if (!stored || stored.eventId !== id.eventId) return undefined;
  if (!sameOrder(stored.payload, id.customerId, id.request))
    throw fail({ code: 'idempotency-key-reused' });
  ports.logger.info(
    { orderId: id.orderId, requestId: id.requestId },
    'idempotent replay of an order',
  );
  return { order: createdOrder(stored.payload), replayed: true };
}

function validate(cmd: PlaceOrderCommand) {
  const key = validateIdempotencyKey(cmd.idempotencyKey);
  const request = validatePlaceOrder(cmd.body);
  if (!key.ok || !request.ok)
    validationFailure(key.ok ? [] : key.errors, request.ok ? [] : request.errors);
  const who = customerForPlacement(cmd.principal, request.value.customerId);
  if (!who.ok) refuse(who);
  return { key: key.value, request: request.value, customerId: who.customerId };
}

/**
 * `POST /api/orders`: validate, take the customer from the principal, price from the menu (a
 * price in the request is only what the client expects), and append `order-created`. With an
 * Idempotency-Key a retry answers the order taken the first time, even after a menu change.
 */
export async function placeOrder(
  ports: OrderApiPorts,
  cmd: PlaceOrderCommand,
): Promise<PlacedOrder> {
  const { key, request, customerId } = validate(cmd);
  const { orderId, eventId } = orderIdentity(customerId, key, ports.newId);
  cmd.onOrderId?.(orderId);
  const id: Identity = { orderId, eventId, customerId, request, requestId: cmd.requestId };
  const priced = priceOrder(ports.menu(), request.restaurantId, request.items);
  if (!priced.ok) {
    const first = key === undefined ? undefined : await replay(ports, id);
    if (first) return first;
    throw fail(
      priced.kind === 'price-changed'
        ? { code: 'price-changed', changes: priced.changes }
        : { code: 'order-unavailable', problems: priced.problems },
    );
  }
  const payload = orderCreatedPayload(orderId, {
    customerId,
    restaurantId: request.restaurantId,
    items: priced.items,
    amount: priced.amount,
  });
  // A request the schema accepted always makes a valid event; checked anyway, it costs nothing.
  eventSchemas['order-created'].parse(payload);
  const { duplicate } = await ports.events.appendOrderCreated(eventId, payload, cmd.requestId);
  if (duplicate) {
    const first = await replay(ports, id);
    if (!first) throw fail({ code: 'order-conflict', orderId });
    return first;
  }
  ports.ordersCreated.inc();
  ports.logger.info(
    { orderId, requestId: cmd.requestId, items: payload.items.length },
    'order created',
  );
  return { order: createdOrder(payload), replayed: false };
}
