/** JetStream subjects and stream names (DESIGN §4, docs/conventions.md). */
export const subjects = {
  eventsPrefix: 'orderflow.events',
  event: (eventType: string) => `orderflow.events.${eventType}`,
  allEvents: 'orderflow.events.>',
  deadLetter: (consumer: string) => `orderflow.deadletter.${consumer}`,
  deadLetterPrefix: 'orderflow.deadletter.',
  allDeadLetters: 'orderflow.deadletter.>',
  deadLetterStream: (stream: string) => `${stream}_DLQ`,
  /**
   * NATS core, not in any stream: the order-query-worker publishes an order's row here after it
   * applied an event (`ProjectedOrder`); the order API's live order feed subscribes per order.
   */
  projectedOrder: (orderId: string) => `orderflow.projected.order.${orderId}`,
  allProjectedOrders: 'orderflow.projected.order.*',
};

/** The order event stream's default name (NATS_STREAM, the OrderFlow resource's streamName). */
export const DEFAULT_STREAM = 'ORDERS';

/** The durable consumers, by the service that runs each; the operator owns their settings. */
export const consumers = {
  payment: 'payment',
  restaurant: 'restaurant',
  /** Shared by every order-query-worker replica: JetStream's form of a queue group. */
  orderQuery: 'order-query',
  saga: 'saga',
} as const;
export const CONSUMER_NAMES = [
  consumers.payment,
  consumers.restaurant,
  consumers.orderQuery,
  consumers.saga,
] as const;
export type ConsumerName = (typeof CONSUMER_NAMES)[number];

/** Headers a consumer adds to a dead letter (the dead-letter tool reads and strips them). */
export const deadLetterHeaders = {
  reason: 'Orderflow-Dead-Reason',
  kind: 'Orderflow-Dead-Kind',
  originalSubject: 'Orderflow-Original-Subject',
  originalSequence: 'Orderflow-Original-Sequence',
  deliveryCount: 'Orderflow-Delivery-Count',
  consumer: 'Orderflow-Consumer',
} as const;

/** Headers the event store sets on every published event. */
export const eventHeaders = {
  eventType: 'Orderflow-Event-Type',
  streamId: 'Orderflow-Stream-Id',
  version: 'Orderflow-Version',
} as const;
