import type { OrderRecord, ProjectedOrder, VersionedEvent } from '@orderflow/contracts';
import type { Catalog, MenuIndex } from '@orderflow/menu';
import type { Counter, Logger } from '@orderflow/platform';
import type { OrderCreated } from '../domain/order';
import type { ListQuery } from '../domain/query';

export interface StoredOrderCreated {
  eventId: string;
  payload: OrderCreated;
  createdAt: string;
}

/** The event store as the order API needs it (adapters/event-store.ts). */
export interface OrderEventsPort {
  /** Appends `order-created` to a new stream; `duplicate` when this event id was stored before. */
  appendOrderCreated(
    eventId: string,
    payload: OrderCreated,
    requestId: string,
  ): Promise<{ duplicate: boolean }>;
  /** The order's `order-created`, or undefined when there is no such order. */
  readOrderCreated(orderId: string): Promise<StoredOrderCreated | undefined>;
  /** Every event of the order's stream this build knows, in version order (empty: no such order). */
  readStream(orderId: string): Promise<VersionedEvent[]>;
}

/** The `orders` read model (adapters/read-model.ts). */
export interface ReadModelPort {
  get(orderId: string): Promise<OrderRecord | undefined>;
  list(q: ListQuery): Promise<{ records: OrderRecord[]; nextCursor: string | null }>;
  /** The read model's version of each order that has a row (one query for many orders). */
  versions(orderIds: readonly string[]): Promise<Map<string, number>>;
}

/**
 * The live order feed (adapters/order-changes.ts): the rows the query worker announces after it
 * projected an event. Best effort: a message may be lost, never invented.
 */
export interface OrderChangesPort {
  /**
   * Hands every row announced for the order to `listener` from the moment the promise resolves
   * (announcements made after that are delivered), until the returned function is called.
   */
  subscribe(orderId: string, listener: (p: ProjectedOrder) => void): Promise<() => void>;
}

export interface OrderApiPorts {
  events: OrderEventsPort;
  readModel: ReadModelPort;
  /** The menus in force now (the catalog file or the runtime config's, live). */
  menu: () => MenuIndex;
  /** The same menus as a list, to show them (`GET /api/restaurants`). */
  catalog: () => Catalog;
  newId: () => string;
  ordersCreated: Pick<Counter, 'inc'>;
  logger: Logger;
}
