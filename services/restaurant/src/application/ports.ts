import type { Catalog, Restaurant } from '@orderflow/menu';
import type { Counter, EventSourcing, Logger } from '@orderflow/platform';
import type { Decision } from '../domain/decide';

export type RecordedDecision = Decision | { decision: 'skipped'; reason: string };

/** The restaurant service's own tables (adapters/pg-restaurants.ts). */
export interface RestaurantsPort {
  restaurant(id: string): Promise<Restaurant | undefined>;
  /** Records the decision about an order; the first one recorded stays. */
  record(orderId: string, restaurantId: string, d: RecordedDecision): Promise<void>;
  replaceCatalog(catalog: Catalog): Promise<void>;
}

export interface RestaurantMetrics {
  decisions: Pick<Counter<'decision'>, 'inc'>;
  conflicts: Pick<Counter, 'inc'>;
  skipped: Pick<Counter, 'inc'>;
}

export interface RestaurantPorts {
  restaurants: RestaurantsPort;
  eventSourcing: EventSourcing;
  metrics: RestaurantMetrics;
  logger: Logger;
}
