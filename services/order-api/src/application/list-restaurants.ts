import type { Restaurant } from '@orderflow/menu';
import type { OrderApiPorts } from './ports';

/** `GET /api/restaurants`: the restaurants and menus orders are priced from, as they are now. */
export function listRestaurants(ports: Pick<OrderApiPorts, 'catalog'>): {
  restaurants: Restaurant[];
} {
  return { restaurants: ports.catalog().restaurants };
}
