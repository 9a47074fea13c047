import { randomUUID } from 'node:crypto';

/**
 * The payload every append scenario writes: an `order-created` of three items with the metadata
 * the services stamp (correlation, causation, traceparent, schema version, producer). About 450
 * bytes of data and 250 of metadata, as in the pipeline.
 */
export function orderCreated(): {
  eventId: string;
  orderId: string;
  eventType: string;
  data: string;
  metadata: Record<string, string>;
} {
  const orderId = randomUUID();
  const data = {
    orderId,
    customerId: `customer-${orderId.slice(0, 8)}`,
    restaurantId: 'pizzeria-napoli',
    items: [
      { code: 'margherita', name: 'Pizza Margherita', unitPrice: 950, quantity: 2 },
      { code: 'tiramisu', name: 'Tiramisu', unitPrice: 550, quantity: 1 },
      { code: 'water', name: 'Sparkling water 0.5 l', unitPrice: 250, quantity: 3 },
    ],
    amount: 3200,
    currency: 'EUR',
    placedAt: '2026-01-01T12:00:00.000Z',
  };
  const eventId = randomUUID();
  return {
    eventId,
    orderId,
    eventType: 'order-created',
    data: JSON.stringify(data),
    metadata: {
      correlation_id: orderId,
      causation_id: eventId,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      schema_version: '1',
      producer: 'order-api',
    },
  };
}

/** An append of one new `order-created` stream, as the bench sends it. */
export function orderCreatedAppend() {
  const e = orderCreated();
  return {
    streamId: `order-${e.orderId}`,
    expectedVersion: -1,
    events: [{ eventId: e.eventId, eventType: e.eventType, data: e.data, metadata: e.metadata }],
  };
}
