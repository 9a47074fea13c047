import { z } from 'zod';
import { describeUnavailable, type PriceChange, type Unavailable } from '@orderflow/menu';
import type { FieldError } from './order';

/**
 * Every way a request can fail, as a typed error with a code. The HTTP edge maps them to RFC 9457
 * problem details in one place (`problemOf`); nothing else reaches the client.
 */
export type ApiFailure =
  | { code: 'validation'; errors: FieldError[] }
  | { code: 'malformed-json'; detail: string }
  | { code: 'payload-too-large'; limitBytes: number }
  | { code: 'unsupported-media-type'; contentType: string | undefined }
  | { code: 'order-not-found'; orderId: string }
  | { code: 'route-not-found'; method: string; path: string }
  | { code: 'method-not-allowed'; method: string; allow: readonly string[] }
  | { code: 'idempotency-key-reused' }
  | { code: 'order-conflict'; orderId: string }
  /** An unknown restaurant or item code, or a closed restaurant: nothing to order. */
  | { code: 'order-unavailable'; problems: Unavailable[] }
  /** A price the client expects is not the menu's. */
  | { code: 'price-changed'; changes: PriceChange[] }
  /** No bearer token, or one that does not verify; `error` is RFC 6750's error code. */
  | { code: 'unauthenticated'; error?: 'invalid_token' | 'invalid_request'; description?: string }
  /** Authenticated, but not allowed to act as or read that customer. */
  | { code: 'forbidden'; field: string; message: string }
  | { code: 'rate-limited'; limit: number; retryAfterSeconds: number }
  /** This instance follows as many live order streams as it may (SSE_MAX_STREAMS). */
  | { code: 'too-many-streams'; limit: number; retryAfterSeconds: number }
  | { code: 'request-timeout' }
  | { code: 'header-too-large'; limitBytes: number }
  | {
      code: 'unavailable';
      dependency: 'event store' | 'read model' | 'identity provider';
      retryAfterSeconds: number;
    }
  | { code: 'internal' };

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly failure: ApiFailure) {
    super(failure.code);
  }
}

export const fail = (failure: ApiFailure): ApiError => new ApiError(failure);

/** Throws the 400 of every field error given. */
export function validationFailure(...lists: FieldError[][]): never {
  throw fail({ code: 'validation', errors: lists.flat() });
}

/** An access decision that refuses: 400 (nothing named) or 403 (someone else named). */
export function refuse(a: { status: 400 | 403; field: string; message: string }): never {
  if (a.status === 403) throw fail({ code: 'forbidden', field: a.field, message: a.message });
  validationFailure([{ field: a.field, message: a.message }]);
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  /** Extension members of the problem type (RFC 9457 §3.2), e.g. both prices of a price change. */
  [extension: string]: unknown;
}

/** An RFC 9457 problem as the API answers it (`application/problem+json`). */
export const problemSchema = z.looseObject({
  type: z.url().meta({ description: 'The problem type: https://orderflow.dev/problems/<slug>.' }),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string(),
  instance: z.string().meta({ description: 'The request path.' }),
  requestId: z
    .string()
    .optional()
    .meta({ description: 'X-Request-Id of the request (absent when the request never parsed).' }),
  errors: z
    .array(z.strictObject({ field: z.string(), message: z.string() }))
    .optional()
    .meta({
      description:
        'Each offending field: a body path (items[0].quantity), a query or path parameter, or a header (Idempotency-Key, Authorization, Last-Event-ID).',
    }),
  items: z
    .array(
      z.strictObject({
        field: z.string(),
        code: z.string(),
        name: z.string(),
        expectedUnitPrice: z.number().int(),
        menuUnitPrice: z.number().int(),
      }),
    )
    .optional()
    .meta({ description: 'price-changed only: both prices of each changed item.' }),
});

export interface ProblemAnswer {
  problem: Problem;
  headers: Record<string, string>;
}

const TYPE_BASE = 'https://orderflow.dev/problems/';

const describe = (errors: FieldError[]): string =>
  errors.map((e) => `${e.field}: ${e.message}`).join('; ');

/** RFC 6750 §3: the challenge of a 401; error_description is one of our fixed texts, never token data. */
function challenge(f: Extract<ApiFailure, { code: 'unauthenticated' }>): string {
  const parts = ['Bearer realm="orderflow"'];
  if (f.error) parts.push(`error="${f.error}"`);
  if (f.description) parts.push(`error_description="${f.description.replace(/["\\]/g, "'")}"`);
  return parts.join(', ');
}

const answer = (
  status: number,
  slug: string,
  title: string,
  detail: string,
  errors?: FieldError[],
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
) => ({
  problem: {
    type: TYPE_BASE + slug,
    title,
    status,
    detail,
    ...(errors ? { errors } : {}),
    ...extensions,
  },
  headers,
});

type Answers = {
  [K in ApiFailure['code']]: (f: Extract<ApiFailure, { code: K }>) => ProblemAnswer;
};

/** One answer per failure code: the compiler checks that none is missing. */
const answers: Answers = {
  validation: (f) =>
    answer(400, 'validation-error', 'Invalid request', describe(f.errors), f.errors),
  'malformed-json': (f) =>
    answer(400, 'malformed-json', 'Malformed JSON body', f.detail, [
      { field: 'body', message: 'is not valid JSON' },
    ]),
  'payload-too-large': (f) =>
    answer(
      413,
      'payload-too-large',
      'Request body too large',
      `the body is larger than ${f.limitBytes} bytes`,
      [{ field: 'body', message: `must be at most ${f.limitBytes} bytes` }],
    ),
  'unsupported-media-type': (f) =>
    answer(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      `the body must be application/json, not ${f.contentType ?? 'missing'}`,
      [{ field: 'Content-Type', message: 'must be application/json' }],
    ),
  'order-not-found': (f) =>
    answer(404, 'order-not-found', 'Order not found', `no order ${f.orderId}`, [
      { field: 'id', message: 'no such order' },
    ]),
  'route-not-found': (f) =>
    answer(404, 'route-not-found', 'Not found', `no route ${f.method} ${f.path}`),
  'method-not-allowed': (f) =>
    answer(
      405,
      'method-not-allowed',
      'Method not allowed',
      `${f.method} is not allowed here; use ${f.allow.join(', ')}`,
      undefined,
      {
        allow: f.allow.join(', '),
      },
    ),
  'idempotency-key-reused': () =>
    answer(
      422,
      'idempotency-key-reused',
      'Idempotency-Key reused with a different request',
      'this Idempotency-Key was first used with a different order; use a new key for a new order',
      [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
    ),
  'order-conflict': (f) =>
    answer(409, 'order-conflict', 'Order already exists', `order ${f.orderId} already exists`),
  'order-unavailable': (f) => {
    const errors = f.problems.map((p) => ({ field: p.field, message: describeUnavailable(p) }));
    return answer(422, 'order-unavailable', 'Order cannot be taken', describe(errors), errors);
  },
  'price-changed': (f) => {
    const errors = f.changes.map((c) => ({
      field: c.field,
      message: `${c.code} costs ${c.menuUnitPrice} cents on the menu, not ${c.expectedUnitPrice}`,
    }));
    return answer(
      409,
      'price-changed',
      'Price changed',
      `${describe(errors)}; nothing was ordered: order again with the menu prices, or without unitPrice`,
      errors,
      {},
      {
        items: f.changes.map((c) => ({
          field: c.field,
          code: c.code,
          name: c.name,
          expectedUnitPrice: c.expectedUnitPrice,
          menuUnitPrice: c.menuUnitPrice,
        })),
      },
    );
  },
  unauthenticated: (f) =>
    answer(
      401,
      'unauthenticated',
      'Authentication required',
      f.description ?? 'send a bearer token: Authorization: Bearer <token>',
      [{ field: 'Authorization', message: f.description ?? 'a bearer token is required' }],
      { 'www-authenticate': challenge(f) },
    ),
  forbidden: (f) =>
    answer(403, 'forbidden', 'Forbidden', `${f.field} ${f.message}`, [
      { field: f.field, message: f.message },
    ]),
  'rate-limited': (f) =>
    answer(
      429,
      'rate-limited',
      'Too many requests',
      `more than ${f.limit} orders in the window; retry after ${f.retryAfterSeconds} s`,
      undefined,
      { 'retry-after': String(f.retryAfterSeconds) },
    ),
  'too-many-streams': (f) =>
    answer(
      503,
      'too-many-streams',
      'Too many live streams',
      `this instance already serves ${f.limit} live order streams; retry after ${f.retryAfterSeconds} s`,
      undefined,
      { 'retry-after': String(f.retryAfterSeconds) },
    ),
  'request-timeout': () =>
    answer(408, 'request-timeout', 'Request timeout', 'the request took too long to send', [
      { field: 'request', message: 'was not received in time' },
    ]),
  'header-too-large': (f) =>
    answer(
      431,
      'header-too-large',
      'Request header fields too large',
      `the request line and headers are larger than ${f.limitBytes} bytes`,
      [{ field: 'headers', message: `must be at most ${f.limitBytes} bytes in total` }],
    ),
  unavailable: (f) =>
    answer(
      503,
      'service-unavailable',
      'Service unavailable',
      `the ${f.dependency} is unavailable; retry later`,
      undefined,
      {
        'retry-after': String(f.retryAfterSeconds),
      },
    ),
  internal: () =>
    answer(500, 'internal-error', 'Internal error', 'the request failed unexpectedly; retry later'),
};

/** The RFC 9457 problem (and headers) a failure answers with. */
export function problemOf(f: ApiFailure): ProblemAnswer {
  // The table's key is f.code, so the entry takes f's own member of the union.
  return (answers[f.code] as (failure: ApiFailure) => ProblemAnswer)(f);
}
