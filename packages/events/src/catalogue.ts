import { z } from 'zod';

/**
 * The event catalogue: the one place that defines every order event type and its payload
 * schema (STYLE.md). Producers and consumers both import it from here. Money is integer cents.
 */
const cents = z.number().int().nonnegative();
const id = z.string().min(1).max(200);

export const orderItemSchema = z.object({
  code: z.string().min(1).max(100),
  name: z.string().min(1).max(200),
  unitPrice: cents,
  quantity: z.number().int().min(1).max(100),
});
export type OrderItem = z.infer<typeof orderItemSchema>;

export const cancellationReasons = [
  'payment-declined',
  'restaurant-rejected',
  'payment-timeout',
  'restaurant-timeout',
] as const;
export type CancellationReason = (typeof cancellationReasons)[number];

export const refundReasons = ['restaurant-rejected', 'restaurant-timeout', 'late-debit'] as const;
export type RefundReason = (typeof refundReasons)[number];

export const eventSchemas = {
  'order-created': z.object({
    orderId: z.uuid(),
    customerId: id,
    restaurantId: id,
    items: z.array(orderItemSchema).min(1).max(50),
    amount: cents,
  }),
  'order-payment-debited': z.object({
    orderId: z.uuid(),
    customerId: id,
    amount: cents,
    paymentId: z.uuid(),
  }),
  'order-payment-declined': z.object({
    orderId: z.uuid(),
    customerId: id,
    amount: cents,
    reason: z.string().max(500),
  }),
  'order-approved': z.object({ orderId: z.uuid(), restaurantId: id }),
  'order-rejected': z.object({ orderId: z.uuid(), restaurantId: id, reason: z.string().max(500) }),
  'order-refund-requested': z.object({ orderId: z.uuid(), reason: z.enum(refundReasons) }),
  'order-payment-refunded': z.object({
    orderId: z.uuid(),
    customerId: id,
    amount: cents,
    paymentId: z.uuid(),
  }),
  'order-cancelled': z.object({
    orderId: z.uuid(),
    reason: z.enum(cancellationReasons),
    detail: z.string().max(500).optional(),
  }),
} as const;

export type EventType = keyof typeof eventSchemas;
export const eventTypes = Object.keys(eventSchemas) as EventType[];

/** The union of every order event: `{ type, data }`, discriminated by `type`. */
export type OrderEvent = {
  [K in EventType]: { type: K; data: z.infer<(typeof eventSchemas)[K]> };
}[EventType];
export type EventOf<K extends EventType> = Extract<OrderEvent, { type: K }>;

/** Schema versions this build understands, per event type; producers stamp the latest. */
export const SCHEMA_VERSION = '1';
export const supportedSchemaVersions: ReadonlySet<string> = new Set(['1']);

export const isEventType = (t: string): t is EventType => Object.hasOwn(eventSchemas, t);

/** The stream of one order aggregate. */
export const orderStreamId = (orderId: string): string => `order-${orderId}`;
export const orderIdFromStream = (streamId: string): string | undefined =>
  streamId.startsWith('order-') ? streamId.slice('order-'.length) : undefined;

/** Metadata keys carried by every stored event (DESIGN §3). */
export const metadataKeys = {
  correlationId: 'correlation_id',
  causationId: 'causation_id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  schemaVersion: 'schema_version',
  producer: 'producer',
} as const;

/** An order event as read from its stream: the catalogue event plus where and when it was stored. */
export interface RecordedOrderEvent {
  event: OrderEvent;
  eventId: string;
  version: number;
  /** When the event store committed it (RFC 3339); empty when the writer does not know it yet. */
  recordedAt: string;
}
