import {
  claimAt,
  claimValues,
  customerForList,
  customerForPlacement,
  mayRead,
  principalOf,
  type Principal,
} from '../src/domain/auth';
import { problemOf } from '../src/domain/problems';

const rules = { customerClaim: 'sub', staffClaim: 'scope', staffValue: 'orders:staff' };
const alice: Principal = { kind: 'customer', customerId: 'alice', staff: false };
const staff: Principal = { kind: 'customer', customerId: 'sam', staff: true };
const anonymous: Principal = { kind: 'anonymous' };

describe('principalOf', () => {
  test('when the token names a customer, then it is that customer, staff only with the staff scope', () => {
    expect(principalOf({ sub: 'alice', scope: 'openid orders' }, rules)).toEqual({
      ok: true,
      principal: alice,
    });
    expect(principalOf({ sub: 'sam', scope: 'openid orders:staff' }, rules)).toEqual({
      ok: true,
      principal: staff,
    });
  });

  test('when the claims are nested paths or arrays, then they are followed', () => {
    const nested = {
      customerClaim: 'ext.customer',
      staffClaim: 'realm_access.roles',
      staffValue: 'staff',
    };
    expect(
      principalOf(
        { sub: 'x', ext: { customer: 'c9' }, realm_access: { roles: ['user', 'staff'] } },
        nested,
      ),
    ).toEqual({ ok: true, principal: { kind: 'customer', customerId: 'c9', staff: true } });
    expect(claimAt({ a: { b: 1 } }, 'a.b.c')).toBeUndefined();
    expect(claimAt({ a: ['x'] }, 'a.0')).toBeUndefined();
    expect(claimValues(['a', 1, 'b'])).toEqual(['a', 'b']);
    expect(claimValues(42)).toEqual([]);
  });

  test.each([
    ['missing', {}],
    ['a number', { sub: 7 }],
    ['blank', { sub: '  ' }],
    ['longer than 200 characters', { sub: 'x'.repeat(201) }],
  ])('when the customer claim is %s, then the token names nobody', (_c, claims) => {
    expect(principalOf(claims, rules)).toEqual({
      ok: false,
      reason: "the token's sub claim does not name a customer",
    });
  });
});

describe('who may act as whom', () => {
  test('when a customer places an order, then it is for itself; naming another customer is 403, also for staff', () => {
    expect(customerForPlacement(alice, undefined)).toEqual({ ok: true, customerId: 'alice' });
    expect(customerForPlacement(alice, 'alice')).toEqual({ ok: true, customerId: 'alice' });
    expect(customerForPlacement(alice, 'bob')).toMatchObject({
      ok: false,
      status: 403,
      field: 'customerId',
    });
    expect(customerForPlacement(staff, 'bob')).toMatchObject({ ok: false, status: 403 });
  });

  test('when nobody is authenticated (AUTH_MODE=none), then the body must name the customer', () => {
    expect(customerForPlacement(anonymous, 'bob')).toEqual({ ok: true, customerId: 'bob' });
    expect(customerForPlacement(anonymous, undefined)).toMatchObject({ ok: false, status: 400 });
  });

  test('when listing, then a customer sees its own orders and only staff another customer’s', () => {
    expect(customerForList(alice, undefined)).toEqual({ ok: true, customerId: 'alice' });
    expect(customerForList(alice, 'bob')).toMatchObject({ ok: false, status: 403 });
    expect(customerForList(staff, 'bob')).toEqual({ ok: true, customerId: 'bob' });
    expect(customerForList(anonymous, undefined)).toMatchObject({ ok: false, status: 400 });
  });

  test('when reading an order, then its customer and staff may; anyone may without authentication', () => {
    expect(mayRead(alice, 'alice')).toBe(true);
    expect(mayRead(alice, 'bob')).toBe(false);
    expect(mayRead(staff, 'bob')).toBe(true);
    expect(mayRead(anonymous, 'bob')).toBe(true);
  });
});

describe('auth problems', () => {
  test('when a token is refused, then the 401 carries a Bearer challenge with the error code and no quote breaks out', () => {
    const a = problemOf({
      code: 'unauthenticated',
      error: 'invalid_token',
      description: 'bad "x"',
    });
    expect(a.problem.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe(
      `Bearer realm="orderflow", error="invalid_token", error_description="bad 'x'"`,
    );
    expect(problemOf({ code: 'unauthenticated' }).headers['www-authenticate']).toBe(
      'Bearer realm="orderflow"',
    );
  });

  test('when a price changed, then the 409 names the item field and carries both prices', () => {
    const a = problemOf({
      code: 'price-changed',
      changes: [
        {
          field: 'items[0].unitPrice',
          code: 'margherita',
          name: 'M',
          expectedUnitPrice: 1,
          menuUnitPrice: 1250,
        },
      ],
    });
    expect(a.problem).toMatchObject({
      status: 409,
      type: 'https://orderflow.dev/problems/price-changed',
      errors: [
        { field: 'items[0].unitPrice', message: 'margherita costs 1250 cents on the menu, not 1' },
      ],
      items: [{ code: 'margherita', expectedUnitPrice: 1, menuUnitPrice: 1250 }],
    });
  });
});
