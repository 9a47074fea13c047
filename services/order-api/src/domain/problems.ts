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
  | { code: 'unavailable'; dependency: 'event store' | 'read model'; retryAfterSeconds: number }
  | { code: 'internal' };

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly failure: ApiFailure) {
    super(failure.code);
  }
}

export const fail = (failure: ApiFailure): ApiError => new ApiError(failure);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export interface ProblemAnswer {
  problem: Problem;
  headers: Record<string, string>;
}

const TYPE_BASE = 'https://orderflow.dev/problems/';

const describe = (errors: FieldError[]): string =>
  errors.map((e) => `${e.field}: ${e.message}`).join('; ');

export function problemOf(f: ApiFailure): ProblemAnswer {
  const answer = (
    status: number,
    slug: string,
    title: string,
    detail: string,
    errors?: FieldError[],
    headers: Record<string, string> = {},
  ) => ({
    problem: { type: TYPE_BASE + slug, title, status, detail, ...(errors ? { errors } : {}) },
    headers,
  });
  switch (f.code) {
    case 'validation':
      return answer(400, 'validation-error', 'Invalid request', describe(f.errors), f.errors);
    case 'malformed-json':
      return answer(400, 'malformed-json', 'Malformed JSON body', f.detail, [
        { field: 'body', message: 'is not valid JSON' },
      ]);
    case 'payload-too-large':
      return answer(
        413,
        'payload-too-large',
        'Request body too large',
        `the body is larger than ${f.limitBytes} bytes`,
        [{ field: 'body', message: `must be at most ${f.limitBytes} bytes` }],
      );
    case 'unsupported-media-type':
      return answer(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        `the body must be application/json, not ${f.contentType ?? 'missing'}`,
        [{ field: 'Content-Type', message: 'must be application/json' }],
      );
    case 'order-not-found':
      return answer(404, 'order-not-found', 'Order not found', `no order ${f.orderId}`, [
        { field: 'id', message: 'no such order' },
      ]);
    case 'route-not-found':
      return answer(404, 'route-not-found', 'Not found', `no route ${f.method} ${f.path}`);
    case 'method-not-allowed':
      return answer(
        405,
        'method-not-allowed',
        'Method not allowed',
        `${f.method} is not allowed here; use ${f.allow.join(', ')}`,
        undefined,
        {
          allow: f.allow.join(', '),
        },
      );
    case 'idempotency-key-reused':
      return answer(
        422,
        'idempotency-key-reused',
        'Idempotency-Key reused with a different request',
        'this Idempotency-Key was first used with a different order; use a new key for a new order',
        [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
      );
    case 'order-conflict':
      return answer(
        409,
        'order-conflict',
        'Order already exists',
        `order ${f.orderId} already exists`,
      );
    case 'unavailable':
      return answer(
        503,
        'service-unavailable',
        'Service unavailable',
        `the ${f.dependency} is unavailable; retry later`,
        undefined,
        {
          'retry-after': String(f.retryAfterSeconds),
        },
      );
    case 'internal':
      return answer(
        500,
        'internal-error',
        'Internal error',
        'the request failed unexpectedly; retry later',
      );
    default: {
      const never: never = f;
      throw new Error(`unhandled failure ${JSON.stringify(never)}`);
    }
  }
}
