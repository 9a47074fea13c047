import type { MenuIndex } from './catalog';

/**
 * Pricing an order from the menu, pure. The server decides what things cost (DESIGN §5): a price
 * the client sends is only the price it expects, checked here, never used.
 */

export interface RequestedItem {
  code: string;
  quantity: number;
  /** The unit price the client expects to pay, in cents; absent means "whatever the menu says". */
  unitPrice?: number | undefined;
}

export interface PricedItem {
  code: string;
  name: string;
  unitPrice: number;
  quantity: number;
}

/** Why the order cannot be taken at all (HTTP 422): each names the request field it is about. */
export type Unavailable =
  | { reason: 'unknown-restaurant'; field: 'restaurantId'; restaurantId: string }
  | { reason: 'restaurant-closed'; field: 'restaurantId'; restaurantId: string }
  | { reason: 'unknown-item'; field: string; restaurantId: string; code: string }
  | { reason: 'amount-too-large'; field: 'items' };

/** The menu price of an item differs from the one the client expects (HTTP 409). */
export interface PriceChange {
  field: string;
  code: string;
  name: string;
  expectedUnitPrice: number;
  menuUnitPrice: number;
}

export type Pricing =
  | { ok: true; items: PricedItem[]; amount: number }
  | { ok: false; kind: 'unavailable'; problems: Unavailable[] }
  | { ok: false; kind: 'price-changed'; changes: PriceChange[] };

/**
 * Prices `items` at `restaurantId` from the menu. An unknown or closed restaurant, or unknown item
 * codes, make the order unavailable; otherwise any expected price that differs from the menu is a
 * price change; otherwise the items carry the menu's names and prices and the amount is their sum.
 */
export function priceOrder(
  menu: MenuIndex,
  restaurantId: string,
  items: readonly RequestedItem[],
): Pricing {
  const restaurant = menu.restaurant(restaurantId);
  if (!restaurant)
    return {
      ok: false,
      kind: 'unavailable',
      problems: [{ reason: 'unknown-restaurant', field: 'restaurantId', restaurantId }],
    };
  if (!restaurant.open)
    return {
      ok: false,
      kind: 'unavailable',
      problems: [{ reason: 'restaurant-closed', field: 'restaurantId', restaurantId }],
    };
  const unknown: Unavailable[] = [];
  const changes: PriceChange[] = [];
  const priced: PricedItem[] = [];
  let amount = 0;
  for (const [i, item] of items.entries()) {
    const onMenu = restaurant.item(item.code);
    if (!onMenu) {
      unknown.push({
        reason: 'unknown-item',
        field: `items[${i}].code`,
        restaurantId,
        code: item.code,
      });
      continue;
    }
    if (item.unitPrice !== undefined && item.unitPrice !== onMenu.priceCents)
      changes.push({
        field: `items[${i}].unitPrice`,
        code: item.code,
        name: onMenu.name,
        expectedUnitPrice: item.unitPrice,
        menuUnitPrice: onMenu.priceCents,
      });
    priced.push({
      code: onMenu.code,
      name: onMenu.name,
      unitPrice: onMenu.priceCents,
      quantity: item.quantity,
    });
    amount += onMenu.priceCents * item.quantity;
  }
  if (unknown.length > 0) return { ok: false, kind: 'unavailable', problems: unknown };
  if (changes.length > 0) return { ok: false, kind: 'price-changed', changes };
  if (!Number.isSafeInteger(amount))
    return {
      ok: false,
      kind: 'unavailable',
      problems: [{ reason: 'amount-too-large', field: 'items' }],
    };
  return { ok: true, items: priced, amount };
}

/** What an unavailability says to a person, e.g. `unknown item code calzone at trattoria`. */
export function describeUnavailable(u: Unavailable): string {
  switch (u.reason) {
    case 'unknown-restaurant':
      return `unknown restaurant ${u.restaurantId}`;
    case 'restaurant-closed':
      return `restaurant ${u.restaurantId} is closed`;
    case 'unknown-item':
      return `unknown item code ${u.code} at ${u.restaurantId}`;
    case 'amount-too-large':
      return 'the order total exceeds the largest amount that can be represented';
    default: {
      const never: never = u;
      throw new Error(`unknown unavailability ${JSON.stringify(never)}`);
    }
  }
}
