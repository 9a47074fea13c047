import { describeProblem, formatCents, parseItem, resolveApi } from '../src/cli';

describe('orders CLI helpers', () => {
  test('when an item spec is code:quantity, then no price is sent (the menu prices it)', () => {
    expect(parseItem('margherita:2')).toEqual({ code: 'margherita', quantity: 2 });
    expect(parseItem('margherita:1250:2')).toEqual({
      code: 'margherita',
      unitPrice: 1250,
      quantity: 2,
    });
    expect(() => parseItem('margherita')).toThrow(/code:quantity/);
    expect(() => parseItem('margherita:two')).toThrow(/whole number/);
  });

  test('when an item spec has a name with colons, then code, price and quantity still come from the ends', () => {
    expect(parseItem('m:Pizza: the classic:1250:2')).toEqual({
      code: 'm',
      name: 'Pizza: the classic',
      unitPrice: 1250,
      quantity: 2,
    });
    expect(() => parseItem('m:Margherita:2')).toThrow(/integer cents/);
    expect(() => parseItem('m:Margherita:12.50:2')).toThrow(/integer cents/);
  });

  test('when cents are formatted, then integer arithmetic gives exact decimals', () => {
    expect(formatCents(3150)).toBe('31.50');
    expect(formatCents(5)).toBe('0.05');
    expect(formatCents(-1999)).toBe('-19.99');
  });

  test('when a problem names fields, then each prints as status and field; otherwise title and detail', () => {
    expect(
      describeProblem(400, {
        title: 'Invalid request',
        errors: [{ field: 'items[0].quantity', message: 'must be ...' }],
      }),
    ).toBe('400 items[0].quantity: must be ...');
    expect(describeProblem(404, { title: 'Order not found', detail: 'no order x' })).toBe(
      '404 Order not found: no order x',
    );
    expect(describeProblem(502, 'Bad Gateway')).toBe('502 Bad Gateway');
  });

  test('when --api and ORDERFLOW_API are both absent and there is no endpoints file, then the default is used', () => {
    expect(resolveApi(undefined, { env: {}, cwd: '/nonexistent' })).toBe('http://127.0.0.1:8080');
    expect(resolveApi('http://h:1/', { env: { ORDERFLOW_API: 'http://e:2' }, cwd: '/' })).toBe(
      'http://h:1',
    );
    expect(resolveApi(undefined, { env: { ORDERFLOW_API: 'http://e:2' }, cwd: '/' })).toBe(
      'http://e:2',
    );
  });
});
