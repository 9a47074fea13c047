import { z } from 'zod';
import type { OrderRecord, OrderView } from '@orderflow/contracts';
import { fieldErrors, type OrderCreated, type Validated } from './order';

export type { OrderRecord, OrderView } from '@orderflow/contracts';

export function toView(r: OrderRecord): OrderView {
  return {
    orderId: r.orderId,
    customerId: r.customerId,
    restaurantId: r.restaurantId,
    items: r.items,
    amount: r.amount,
    status: r.status,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.status === 'Cancelled' && r.cancellationReason !== null
      ? { cancellationReason: r.cancellationReason }
      : {}),
    refunded: r.refunded,
  };
}

/**
 * Read-your-writes: the projection has not caught up yet, but the event store holds the order's
 * `order-created` (version 0), so the order exists and is Pending.
 */
export function pendingView(created: OrderCreated, createdAt: string): OrderView {
  return {
    orderId: created.orderId,
    customerId: created.customerId,
    restaurantId: created.restaurantId,
    items: created.items,
    amount: created.amount,
    status: 'Pending',
    version: 0,
    createdAt,
    updatedAt: createdAt,
    refunded: false,
  };
}

const uuid = z.uuid({ error: 'must be a UUID' });
/** The `:id` of an order's routes. */
export const orderIdSchema = uuid;

export function validateOrderId(id: unknown): Validated<string> {
  const r = uuid.safeParse(id);
  return r.success
    ? { ok: true, value: r.data.toLowerCase() }
    : { ok: false, errors: [{ field: 'id', message: 'must be a UUID' }] };
}

/** Keyset position: the last row's `created_at` (exact, as the database prints it) and order id. */
export interface Cursor {
  createdAt: string;
  orderId: string;
}

// PostgreSQL and CockroachDB print a TIMESTAMPTZ like `2026-11-26 07:24:36.123456+00`.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2}){0,2})$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.orderId]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2) return undefined;
    const [createdAt, orderId] = v as unknown[];
    if (typeof createdAt !== 'string' || !TIMESTAMP.test(createdAt)) return undefined;
    if (!uuid.safeParse(orderId).success) return undefined;
    return { createdAt, orderId: orderId as string };
  } catch {
    return undefined;
  }
}

export interface ListQuery {
  customerId: string;
  limit: number;
  cursor: Cursor | undefined;
}

/** A list query as asked: `customerId` may be left out by an authenticated caller (its own). */
export type ListRequest = Omit<ListQuery, 'customerId'> & { customerId: string | undefined };

const single = (name: string) => (v: unknown) =>
  Array.isArray(v) ? `${name} must be given once` : undefined;

/** The query of `GET /api/orders`. */
export const listQuerySchema = z.object({
  customerId: z
    .string({
      error: (iss) => single('customerId')(iss.input) ?? 'must be a string',
    })
    .min(1, { error: 'must be 1 to 200 characters' })
    .max(200, { error: 'must be 1 to 200 characters' })
    .optional()
    .meta({
      description:
        "Whose orders. Required without authentication; with a token it defaults to the token's customer (another's: staff only, else 403).",
    }),
  limit: z
    .string({ error: (iss) => single('limit')(iss.input) ?? 'must be an integer from 1 to 100' })
    .regex(/^\d{1,3}$/, { error: 'must be an integer from 1 to 100' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, { error: 'must be an integer from 1 to 100' })
    .optional()
    .meta({ description: 'Orders per page, 1 to 100 (default 20).' }),
  cursor: z
    .string({ error: (iss) => single('cursor')(iss.input) ?? 'must be a string' })
    .optional()
    .meta({ description: 'The nextCursor of the page before (opaque).' }),
});

export const DEFAULT_LIMIT = 20;

/**
 * Validates `GET /api/orders?customerId=&limit=&cursor=` (query values arrive as strings); whose
 * orders the caller may list is decided afterwards (`customerForList`).
 */
export function validateListQuery(query: unknown): Validated<ListRequest> {
  const parsed = listQuerySchema.safeParse(query ?? {});
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error, 'query') };
  let cursor: Cursor | undefined;
  if (parsed.data.cursor !== undefined) {
    cursor = decodeCursor(parsed.data.cursor);
    if (!cursor)
      return {
        ok: false,
        errors: [{ field: 'cursor', message: 'is not a cursor this API returned' }],
      };
  }
  return {
    ok: true,
    value: {
      customerId: parsed.data.customerId,
      limit: parsed.data.limit ?? DEFAULT_LIMIT,
      cursor,
    },
  };
}
