import type { OrderRecord } from '@orderflow/contracts';
import type { MenuIndex } from '@orderflow/menu';
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
}

/** The `orders` read model (adapters/read-model.ts). */
export interface ReadModelPort {
  get(orderId: string): Promise<OrderRecord | undefined>;
  list(q: ListQuery): Promise<{ records: OrderRecord[]; nextCursor: string | null }>;
}

export interface OrderApiPorts {
  events: OrderEventsPort;
  readModel: ReadModelPort;
  /** The menus in force now (the catalog file or the runtime config's, live). */
  menu: () => MenuIndex;
  newId: () => string;
  ordersCreated: Pick<Counter, 'inc'>;
  logger: Logger;
}
