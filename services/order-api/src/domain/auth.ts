/**
 * Who may do what, pure: the caller's identity from verified token claims, and the rules of
 * DESIGN §5 ("the authenticated subject is the customer"). No I/O: the token is verified by the
 * adapter before anything here runs.
 */

export type Principal =
  /** AUTH_MODE=none: nobody is authenticated and every request may act as any customer. */
  | { kind: 'anonymous' }
  /** A verified token: the customer it names, and whether it carries the staff role or scope. */
  | { kind: 'customer'; customerId: string; staff: boolean };

export interface ClaimRules {
  /** Dotted path of the claim naming the customer (`sub`). */
  customerClaim: string;
  /** Dotted path of the claim holding roles or scopes (`scope`, `realm_access.roles`). */
  staffClaim: string;
  /** The value of `staffClaim` that makes a caller staff. */
  staffValue: string;
}

/** The claim at a dotted path (`realm_access.roles`), or undefined. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let at: unknown = claims;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    if (!Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Role or scope values of a claim: an array of strings, or one string of space-separated values. */
export function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter((v) => v !== '');
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const MAX_ID = 200;

/**
 * The principal a verified token names, or the reason it names none: the customer claim must be a
 * string of 1 to 200 characters (the length of a customer id in `order-created`), not blank.
 */
export function principalOf(
  claims: Record<string, unknown>,
  rules: ClaimRules,
): { ok: true; principal: Principal } | { ok: false; reason: string } {
  const customer = claimAt(claims, rules.customerClaim);
  if (
    typeof customer !== 'string' ||
    customer.length === 0 ||
    customer.length > MAX_ID ||
    customer.trim() === ''
  )
    return {
      ok: false,
      reason: `the token's ${rules.customerClaim} claim does not name a customer`,
    };
  const staff = claimValues(claimAt(claims, rules.staffClaim)).includes(rules.staffValue);
  return { ok: true, principal: { kind: 'customer', customerId: customer, staff } };
}

export type Access =
  | { ok: true; customerId: string }
  | { ok: false; status: 400 | 403; field: string; message: string };

/**
 * The customer an order is placed for. With a token it is the token's customer: a body
 * `customerId` may repeat it and may not name anyone else (403), not even for staff. Without
 * authentication the body must name the customer.
 */
export function customerForPlacement(
  principal: Principal,
  bodyCustomerId: string | undefined,
): Access {
  if (principal.kind === 'anonymous') {
    return bodyCustomerId === undefined
      ? { ok: false, status: 400, field: 'customerId', message: 'is required' }
      : { ok: true, customerId: bodyCustomerId };
  }
  if (bodyCustomerId !== undefined && bodyCustomerId !== principal.customerId)
    return {
      ok: false,
      status: 403,
      field: 'customerId',
      message: 'is not the authenticated customer; a customer may only order as itself',
    };
  return { ok: true, customerId: principal.customerId };
}

/** The customer whose orders a list shows: one's own; another's only for staff. */
export function customerForList(principal: Principal, queryCustomerId: string | undefined): Access {
  if (principal.kind === 'anonymous') {
    return queryCustomerId === undefined
      ? { ok: false, status: 400, field: 'customerId', message: 'is required' }
      : { ok: true, customerId: queryCustomerId };
  }
  if (queryCustomerId === undefined || queryCustomerId === principal.customerId)
    return { ok: true, customerId: principal.customerId };
  if (principal.staff) return { ok: true, customerId: queryCustomerId };
  return {
    ok: false,
    status: 403,
    field: 'customerId',
    message: "names another customer; only staff may list another customer's orders",
  };
}

/** Whether the principal may read an order of `customerId`. */
export const mayRead = (principal: Principal, customerId: string): boolean =>
  principal.kind === 'anonymous' || principal.staff || principal.customerId === customerId;
