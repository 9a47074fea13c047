import { z } from 'zod';
import {
  deterministicEventId,
  orderItemSchema,
  type EventOf,
  type OrderItem,
} from '@orderflow/events';
import type { RequestedItem } from '@orderflow/menu';

/**
 * The order API's pure core: validating a place-order request, deriving its ids, and deciding
 * whether an idempotent replay matches the first request. Pricing is `priceOrder` from
 * @orderflow/menu; who may order is domain/auth.ts. No I/O, no clock.
 */

export interface FieldError {
  /** The offending field as a path: `items[0].quantity`, `customerId`, `Idempotency-Key`. */
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const MAX_ID = 200;

const requiredString = (what: string, max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : `must be a string`) })
    .min(1, { error: `must be 1 to ${max} characters` })
    .max(max, { error: `must be 1 to ${max} characters` })
    .refine((s) => s.trim().length > 0, { error: `${what} must not be blank` });

const integer = (min: number, max: number, what: string) =>
  z
    .number({
      error: (iss) => (iss.input === undefined ? 'is required' : `must be an integer ${what}`),
    })
    .int({ error: `must be an integer ${what}` })
    .min(min, { error: `must be an integer ${what}` })
    .max(max, { error: `must be an integer ${what}` });

// Limits match the `order-created` payload in @orderflow/events, so a valid request always makes a valid event.
const itemSchema = z.strictObject({
  code: requiredString('code', 100).meta({ description: "The item's code on the menu." }),
  name: requiredString('name', 200).optional().meta({
    description: "Accepted and ignored (older clients send it): the menu's name is stored.",
  }),
  unitPrice: integer(0, Number.MAX_SAFE_INTEGER, 'number of cents >= 0').optional().meta({
    description:
      'The unit price in cents the client expects to pay. The menu sets the price: a different one answers 409 price-changed and nothing is ordered.',
  }),
  quantity: integer(1, 100, 'from 1 to 100'),
});

export const MAX_ITEMS = 50;

/** The body of `POST /api/orders`: the one place that defines it. Unknown keys are rejected. */
export const placeOrderBodySchema = z.strictObject(
  {
    customerId: requiredString('customerId', MAX_ID).optional().meta({
      description:
        "The customer. Required without authentication; with a token it defaults to the token's customer and may not name another (403).",
    }),
    restaurantId: requiredString('restaurantId', MAX_ID).meta({
      description: 'The restaurant whose menu prices the order (GET /api/restaurants).',
    }),
    items: z
      .array(itemSchema, {
        error: (iss) => (iss.input === undefined ? 'is required' : 'must be an array of items'),
      })
      .min(1, { error: `must hold 1 to ${MAX_ITEMS} items` })
      .max(MAX_ITEMS, { error: `must hold 1 to ${MAX_ITEMS} items` }),
  },
  { error: 'must be a JSON object' },
);

/** A well-formed request, not yet priced nor checked against the caller's identity. */
export interface PlaceOrderRequest {
  customerId?: string | undefined;
  restaurantId: string;
  items: RequestedItem[];
}

/** An order priced from the menu, for the authenticated customer: what `order-created` records. */
export interface PlaceOrder {
  customerId: string;
  restaurantId: string;
  items: OrderItem[];
  amount: number;
}

/**
 * `items[0].quantity` from zod's `['items', 0, 'quantity']`. A key that is not a plain name (an
 * empty one, one with spaces or dots) is quoted, `items[0][""]`, so every field names something.
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$-]*$/.test(p))
      out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Turns zod issues into field errors; an unknown key is reported under its own name. */
export function fieldErrors(error: z.ZodError, root = 'body'): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        errors.push({ field: fieldPath([...issue.path, key]), message: 'is not a known field' });
    } else {
      errors.push({ field: fieldPath(issue.path) || root, message: issue.message });
    }
  }
  return errors;
}

/** Validates the shape of a parsed JSON body (prices and identity are checked afterwards). */
export function validatePlaceOrder(body: unknown): Validated<PlaceOrderRequest> {
  const parsed = placeOrderBodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error) };
  const { customerId, restaurantId, items } = parsed.data;
  return {
    ok: true,
    value: {
      customerId,
      restaurantId,
      items: items.map((i) => ({ code: i.code, quantity: i.quantity, unitPrice: i.unitPrice })),
    },
  };
}

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The Idempotency-Key header: 1 to 200 printable ASCII characters. */
export const idempotencyKeySchema = z.string().regex(/^[\x20-\x7e]{1,200}$/);

/** An Idempotency-Key is 1 to 200 printable ASCII characters; absent is fine. */
export function validateIdempotencyKey(
  header: string | string[] | undefined,
): Validated<string | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  if (Array.isArray(header) || !idempotencyKeySchema.safeParse(header).success) {
    return {
      ok: false,
      errors: [
        {
          field: IDEMPOTENCY_KEY_HEADER,
          message: 'must be one value of 1 to 200 printable ASCII characters',
        },
      ],
    };
  }
  return { ok: true, value: header };
}

export interface OrderIdentity {
  orderId: string;
  eventId: string;
}

/**
 * With an Idempotency-Key the order id and the event id follow from (customerId, key), so a
 * retried POST appends the same event to the same stream and the store reports a duplicate
 * (docs/flow.md). Without one, both are fresh.
 */
export function orderIdentity(
  customerId: string,
  idempotencyKey: string | undefined,
  newId: () => string,
): OrderIdentity {
  if (idempotencyKey === undefined) return { orderId: newId(), eventId: newId() };
  return {
    orderId: deterministicEventId('order-id', customerId, idempotencyKey),
    eventId: deterministicEventId('order-created', customerId, idempotencyKey),
  };
}

export type OrderCreated = EventOf<'order-created'>['data'];

export function orderCreatedPayload(orderId: string, order: PlaceOrder): OrderCreated {
  return {
    orderId,
    customerId: order.customerId,
    restaurantId: order.restaurantId,
    items: order.items.map((i) => ({
      code: i.code,
      name: i.name,
      unitPrice: i.unitPrice,
      quantity: i.quantity,
    })),
    amount: order.amount,
  };
}

/**
 * True when a replayed request asks for the order that was stored the first time: the same
 * customer, restaurant, item codes and quantities, and no expected price other than the price it
 * was charged. (Prices come from the menu, which may have changed since; the stored order stands.)
 */
export function sameOrder(
  stored: OrderCreated,
  customerId: string,
  requested: PlaceOrderRequest,
): boolean {
  return (
    stored.customerId === customerId &&
    stored.restaurantId === requested.restaurantId &&
    stored.items.length === requested.items.length &&
    stored.items.every((s, i) => {
      const r = requested.items[i];
      return (
        r !== undefined &&
        s.code === r.code &&
        s.quantity === r.quantity &&
        (r.unitPrice === undefined || r.unitPrice === s.unitPrice)
      );
    })
  );
}

/** The answer to a successful POST (the first time and on every matching replay). */
export interface CreatedOrder {
  orderId: string;
  status: 'Pending';
  amount: number;
  customerId: string;
  restaurantId: string;
  items: OrderItem[];
}

/** The body of a 201 to `POST /api/orders`. */
export const createdOrderSchema = z.strictObject({
  orderId: z.uuid(),
  status: z.literal('Pending'),
  amount: z.number().int().nonnegative().meta({ description: 'Σ unitPrice × quantity, in cents.' }),
  customerId: z.string(),
  restaurantId: z.string(),
  items: z.array(orderItemSchema),
}) satisfies z.ZodType<CreatedOrder>;

export function createdOrder(payload: OrderCreated): CreatedOrder {
  return {
    orderId: payload.orderId,
    status: 'Pending',
    amount: payload.amount,
    customerId: payload.customerId,
    restaurantId: payload.restaurantId,
    items: payload.items,
  };
}
