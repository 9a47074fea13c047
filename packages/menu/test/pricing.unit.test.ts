import { describeUnavailable, indexCatalog, priceOrder, type Catalog } from '../src';

const catalog: Catalog = {
  restaurants: [
    {
      id: 'trattoria',
      name: 'Trattoria',
      open: true,
      menu: [
        { code: 'margherita', name: 'Pizza Margherita', priceCents: 1250 },
        { code: 'tiramisu', name: 'Tiramisù', priceCents: 650 },
        { code: 'huge', name: 'Huge', priceCents: Number.MAX_SAFE_INTEGER },
      ],
    },
    { id: 'closed-diner', name: 'Closed', open: false, menu: [] },
  ],
};
const menu = indexCatalog(catalog);

describe('priceOrder', () => {
  test('when no price is sent, then each item carries the menu name and price and the amount is their sum', () => {
    expect(
      priceOrder(menu, 'trattoria', [
        { code: 'margherita', quantity: 2 },
        { code: 'tiramisu', quantity: 1, unitPrice: 650 },
      ]),
    ).toEqual({
      ok: true,
      items: [
        { code: 'margherita', name: 'Pizza Margherita', unitPrice: 1250, quantity: 2 },
        { code: 'tiramisu', name: 'Tiramisù', unitPrice: 650, quantity: 1 },
      ],
      amount: 3150,
    });
  });

  test('when the expected price differs from the menu, then it is a price change naming the item and both prices', () => {
    expect(
      priceOrder(menu, 'trattoria', [
        { code: 'tiramisu', quantity: 1 },
        { code: 'margherita', quantity: 2, unitPrice: 1 },
      ]),
    ).toEqual({
      ok: false,
      kind: 'price-changed',
      changes: [
        {
          field: 'items[1].unitPrice',
          code: 'margherita',
          name: 'Pizza Margherita',
          expectedUnitPrice: 1,
          menuUnitPrice: 1250,
        },
      ],
    });
  });

  test('when the restaurant is unknown or closed, then the order is unavailable naming restaurantId', () => {
    const unknown = priceOrder(menu, 'nowhere', [{ code: 'margherita', quantity: 1 }]);
    expect(unknown).toEqual({
      ok: false,
      kind: 'unavailable',
      problems: [{ reason: 'unknown-restaurant', field: 'restaurantId', restaurantId: 'nowhere' }],
    });
    const closed = priceOrder(menu, 'closed-diner', [{ code: 'burger', quantity: 1 }]);
    expect(closed.ok === false && closed.kind === 'unavailable' && closed.problems).toEqual([
      { reason: 'restaurant-closed', field: 'restaurantId', restaurantId: 'closed-diner' },
    ]);
  });

  test('when item codes are unknown, then each is named, even when another price also changed', () => {
    const r = priceOrder(menu, 'trattoria', [
      { code: 'calzone', quantity: 1 },
      { code: 'margherita', quantity: 1, unitPrice: 5 },
      { code: 'pineapple', quantity: 1 },
    ]);
    expect(r.ok === false && r.kind === 'unavailable' && r.problems.map((p) => p.field)).toEqual([
      'items[0].code',
      'items[2].code',
    ]);
    expect(r.ok === false && r.kind === 'unavailable' && describeUnavailable(r.problems[0]!)).toBe(
      'unknown item code calzone at trattoria',
    );
  });

  test('when the total passes the largest safe integer, then the order is unavailable naming items', () => {
    expect(priceOrder(menu, 'trattoria', [{ code: 'huge', quantity: 2 }])).toEqual({
      ok: false,
      kind: 'unavailable',
      problems: [{ reason: 'amount-too-large', field: 'items' }],
    });
  });
});
