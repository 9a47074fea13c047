import { z } from 'zod';
import { eventTypes, orderItemSchema, type EventType, type OrderEvent } from '@orderflow/events';
import type { VersionedEvent } from './order-projection';
import { orderStatuses, type OrderRecord, type OrderView } from './order-read-model';

/**
 * The live feed of orders (docs/services.md, `GET /api/orders/:id/events`): after the
 * order-query-worker has applied an event to an order's row, it publishes the row and the event
 * on the NATS core subject `subjects.projectedOrder(orderId)`. Best effort, not persisted: a
 * reader that misses one fills the gap from the event store by version.
 */

/** One event of an order's stream as people follow it: what happened, at which version, when. */
export interface OrderStreamEvent {
  version: number;
  type: EventType;
  /** The event store's commit time (RFC 3339). */
  createdAt: string;
  /** Why, for a rejection, a refund request or a cancellation. */
  reason?: string;
}

/** What the worker publishes after it applied `event`: the order's row right after it. */
export interface ProjectedOrder {
  order: OrderRecord;
  event: OrderStreamEvent;
}

const version = z.number().int().nonnegative();
const time = z.string().min(1).max(64);
const id = z.string().min(1).max(200);

export const orderStreamEventSchema = z.strictObject({
  version,
  type: z.enum(eventTypes as [EventType, ...EventType[]]),
  createdAt: time,
  reason: z.string().max(500).optional(),
}) satisfies z.ZodType<OrderStreamEvent>;

const orderFields = {
  orderId: z.uuid(),
  customerId: id,
  restaurantId: id,
  items: z.array(orderItemSchema).min(1).max(50),
  amount: z.number().int().nonnegative(),
  status: z.enum(orderStatuses),
  version,
  refunded: z.boolean(),
  createdAt: time,
  updatedAt: time,
};

export const orderRecordSchema = z.strictObject({
  ...orderFields,
  cancellationReason: z.string().max(200).nullable(),
}) satisfies z.ZodType<OrderRecord>;

/** What the order API answers for an order (`GET /api/orders/:id`, each item of a list). */
export const orderViewSchema = z.strictObject({
  ...orderFields,
  cancellationReason: z.string().max(200).optional(),
}) satisfies z.ZodType<OrderView>;

/** The message on `subjects.projectedOrder(orderId)`; the order API parses it with this. */
export const projectedOrderSchema = z.strictObject({
  order: orderRecordSchema,
  event: orderStreamEventSchema,
}) satisfies z.ZodType<ProjectedOrder>;

/** The event as people follow it; `reason` only where the event gives one worth showing. */
export function streamEventOf(e: VersionedEvent): OrderStreamEvent {
  const out: OrderStreamEvent = { version: e.version, type: e.event.type, createdAt: e.createdAt };
  const reason = reasonOf(e.event);
  return reason === undefined ? out : { ...out, reason };
}

function reasonOf(event: OrderEvent): string | undefined {
  switch (event.type) {
    case 'order-rejected':
    case 'order-refund-requested':
    case 'order-cancelled':
      return event.data.reason;
    // A declined payment's reason names the customer's balance: the status says enough.
    case 'order-payment-declined':
    case 'order-created':
    case 'order-payment-debited':
    case 'order-approved':
    case 'order-payment-refunded':
      return undefined;
    default: {
      const never: never = event;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}
