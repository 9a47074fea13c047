import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { eventSchemas } from '@orderflow/events';
import {
  SpanKind,
  counter,
  extractTraceContext,
  histogram,
  withSpan,
  type Logger,
  type Registry,
  type Span,
} from '@orderflow/platform';
import { SpanStatusCode } from '@opentelemetry/api';
import type { EventStoreGateway } from './adapters/event-store';
import type { PgReadModel } from './adapters/read-model';
import {
  createdOrder,
  orderCreatedPayload,
  orderIdentity,
  sameOrder,
  validateIdempotencyKey,
  validatePlaceOrder,
  type FieldError,
} from './domain/order';
import { ApiError, fail, problemOf, type ApiFailure } from './domain/problems';
import { pendingView, toView, validateListQuery, validateOrderId } from './domain/query';

export interface HttpDeps {
  readModel: PgReadModel;
  eventStore: EventStoreGateway;
  registry: Registry;
  logger: Logger;
  bodyLimitBytes: number;
  keepAliveTimeoutMs?: number;
  newId?: () => string;
}

/** The HTTP server and the switch that starts its drain (SIGTERM). */
export interface OrderHttp {
  app: FastifyInstance;
  /** From now on every response says `Connection: close`, so clients leave this instance. */
  drain: () => void;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Any error that reaches the edge, as the one typed failure it answers with. */
function failureOf(err: unknown, req: FastifyRequest, bodyLimitBytes: number): ApiFailure {
  if (err instanceof ApiError) return err.failure;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload-too-large', limitBytes: bodyLimitBytes };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'unsupported-media-type',
        contentType: req.headers['content-type']?.split(';')[0],
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'malformed-json', detail: 'the body is empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'malformed-json', detail: 'the body is not valid JSON' };
    default:
      break;
  }
  // Other client errors fastify detects while reading the request (bad content length, aborted body).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      code: 'validation',
      errors: [
        { field: 'request', message: typeof e.message === 'string' ? e.message : 'is invalid' },
      ],
    };
  }
  return { code: 'internal' };
}

const statusOfFailure = (f: ApiFailure): number => problemOf(f).problem.status;

function sendProblem(req: FastifyRequest, reply: FastifyReply, failure: ApiFailure): FastifyReply {
  const { problem, headers } = problemOf(failure);
  const body = { ...problem, instance: req.url.split('?')[0] ?? '/', requestId: req.id };
  return reply
    .code(problem.status)
    .headers(headers)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(body));
}

function validationFailure(...lists: FieldError[][]): never {
  throw fail({ code: 'validation', errors: lists.flat() });
}

/** The public HTTP API, without listening: `start` listens, tests may `inject`. */
export function buildHttp(deps: HttpDeps): OrderHttp {
  let draining = false;
  const { readModel, eventStore, registry, logger, bodyLimitBytes } = deps;
  const newId = deps.newId ?? randomUUID;

  const requests = counter(registry, {
    name: 'orderflow_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
  });
  const duration = histogram(registry, {
    name: 'orderflow_http_request_duration_seconds',
    help: 'HTTP request duration, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
  });
  const ordersCreated = counter(registry, {
    name: 'orderflow_orders_created_total',
    help: 'Orders accepted (order-created appended); idempotent replays are not counted.',
  });

  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    // A caller's request id is kept when sane, so it can follow the order as causation_id.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[\x21-\x7e]{1,200}$/.test(h) ? h : randomUUID();
    },
    // A client that trickles its request cannot hold a connection forever.
    requestTimeout: 30_000,
    keepAliveTimeout: deps.keepAliveTimeoutMs ?? 5_000,
    // While closing, a request that still arrives on an open connection is answered, not 503'd:
    // the drain (see start) has already told clients to go elsewhere.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  app.addHook('onSend', async (_req, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  // JSON only: without this, fastify would hand a text/plain body to the handler.
  app.removeContentTypeParser(['text/plain']);

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL, keeps the label set bounded.
    const route = req.routeOptions.url ?? 'unmatched';
    const method = (METHODS as readonly string[]).includes(req.method) ? req.method : 'OTHER';
    requests.inc({ method, route, status: String(reply.statusCode) });
    duration.observe({ method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    const failure = failureOf(err, req, bodyLimitBytes);
    if (failure.code === 'internal')
      logger.error({ err, requestId: req.id, route: req.routeOptions.url }, 'request failed');
    else if (failure.code === 'unavailable')
      logger.warn({ requestId: req.id, dependency: failure.dependency }, 'dependency unavailable');
    return sendProblem(req, reply, failure);
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(req, reply, {
      code: 'route-not-found',
      method: req.method,
      path: req.url.split('?')[0] ?? '/',
    }),
  );

  /**
   * One SERVER span per request that continues the caller's `traceparent`, so a trace starts at
   * the HTTP request and follows the order through the event store and every consumer. Client
   * errors (4xx) do not mark the span failed; errors still go to the one error handler.
   */
  const traced =
    <Req extends FastifyRequest>(
      route: string,
      handler: (req: Req, reply: FastifyReply, span: Span) => Promise<unknown>,
    ) =>
    async (req: Req, reply: FastifyReply): Promise<unknown> => {
      const h = req.headers;
      const carrier = {
        traceparent: typeof h.traceparent === 'string' ? h.traceparent : undefined,
        tracestate: typeof h.tracestate === 'string' ? h.tracestate : undefined,
      };
      const outcome = await withSpan(
        `${req.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          parent: extractTraceContext(carrier),
          attributes: {
            'http.request.method': req.method,
            'http.route': route,
            'url.scheme': 'http',
          },
        },
        async (span): Promise<{ ok: true; value: unknown } | { ok: false; err: unknown }> => {
          try {
            const value = await handler(req, reply, span);
            span.setAttribute('http.response.status_code', reply.statusCode);
            return { ok: true, value };
          } catch (err: unknown) {
            const status = statusOfFailure(failureOf(err, req, bodyLimitBytes));
            span.setAttribute('http.response.status_code', status);
            if (status >= 500) {
              span.recordException(err instanceof Error ? err : String(err));
              span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
            }
            return { ok: false, err };
          }
        },
      );
      if (!outcome.ok) throw outcome.err;
      return outcome.value;
    };

  /** Known paths answer 405 (with Allow) for other methods, before any body is read. */
  const methodNotAllowed = (url: string, allow: readonly string[]): void => {
    app.route({
      method: METHODS.filter((m) => !allow.includes(m)),
      url,
      onRequest: async (req) => {
        await Promise.resolve();
        throw fail({ code: 'method-not-allowed', method: req.method, allow });
      },
      handler: (_req, reply) => reply.code(405).send(),
    });
  };

  app.post(
    '/api/orders',
    traced('/api/orders', async (req, reply, span) => {
      const key = validateIdempotencyKey(req.headers['idempotency-key']);
      const order = validatePlaceOrder(req.body);
      if (!key.ok || !order.ok)
        validationFailure(key.ok ? [] : key.errors, order.ok ? [] : order.errors);

      const { orderId, eventId } = orderIdentity(order.value.customerId, key.value, newId);
      const payload = orderCreatedPayload(orderId, order.value);
      // A request the schema accepted always makes a valid event; checked anyway, it costs nothing.
      eventSchemas['order-created'].parse(payload);
      span.setAttribute('orderflow.order_id', orderId);

      const { duplicate } = await eventStore.appendOrderCreated(eventId, payload, req.id);
      if (duplicate) {
        const stored = await eventStore.readOrderCreated(orderId);
        if (!stored || stored.eventId !== eventId) throw fail({ code: 'order-conflict', orderId });
        if (!sameOrder(stored.payload, payload)) throw fail({ code: 'idempotency-key-reused' });
        reply.header('idempotent-replayed', 'true');
        logger.info({ orderId, requestId: req.id }, 'idempotent replay of an order');
      } else {
        ordersCreated.inc();
        logger.info({ orderId, requestId: req.id, items: payload.items.length }, 'order created');
      }
      reply.code(201).header('location', `/api/orders/${orderId}`);
      return createdOrder(payload);
    }),
  );

  app.get(
    '/api/orders',
    traced('/api/orders', async (req) => {
      const q = validateListQuery(req.query);
      if (!q.ok) validationFailure(q.errors);
      const { records, nextCursor } = await readModel.list(q.value);
      return { items: records.map(toView), nextCursor };
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/orders/:id',
    traced('/api/orders/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
      const id = validateOrderId(req.params.id);
      if (!id.ok) validationFailure(id.errors);
      const record = await readModel.get(id.value);
      if (record) return toView(record);
      // Read-your-writes: right after a POST the projection may lag; the event store knows the order.
      const created = await eventStore.readOrderCreated(id.value);
      if (created) return pendingView(created.payload, created.createdAt);
      throw fail({ code: 'order-not-found', orderId: id.value });
    }),
  );

  methodNotAllowed('/api/orders', ['GET', 'HEAD', 'POST']);
  methodNotAllowed('/api/orders/:id', ['GET', 'HEAD']);

  return {
    app,
    drain: () => {
      draining = true;
    },
  };
}
