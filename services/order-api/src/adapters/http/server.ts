import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { counter, histogram, type Logger, type Registry } from '@orderflow/platform';
import type { OrderApiPorts } from '../../application/ports';
import type { Authenticate } from '../../authenticate';
import type { Config } from '../../config';
import type { Principal } from '../../domain/auth';
import { fail } from '../../domain/problems';
import { createdOrderSchema, placeOrderBodySchema } from '../../domain/order';
import { feedMessageSchema } from '../../domain/live';
import { problemSchema } from '../../domain/problems';
import { orderStreamEventSchema, orderViewSchema } from '@orderflow/contracts';
import { orderPageSchema, restaurantsSchema } from './api-docs';
import type { LiveStreams } from './live';
import { openApiDocument, type DocumentedRoute } from './openapi';
import { registerPages } from './pages';
import { clientErrorHandler, failureOf, sendProblem } from './problems';
import { METHODS, registerRoutes } from './routes';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of every /api route, before the body is read. */
    principal: Principal | null;
  }
}

export interface HttpLimits {
  bodyLimitBytes: number;
  maxHeaderBytes: number;
  requestTimeoutMs: number;
  /** X-Forwarded-For hops to trust for the client address (0: the peer address). */
  trustProxyHops: number;
  /** Orders per client per window; 0 turns the limit off. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** How long an idle kept-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
}

export interface HttpDeps {
  ports: OrderApiPorts;
  authenticate: Authenticate;
  registry: Registry;
  logger: Logger;
  limits: HttpLimits;
  live: LiveStreams;
  /** How the API authenticates (the document and the console say so) and the dev issuer. */
  auth: { mode: 'oidc' | 'dev' | 'none'; issuer: string | undefined };
}

/** The OpenAPI document's named schemas (components.schemas). */
export const NAMED_SCHEMAS = {
  PlaceOrder: placeOrderBodySchema,
  CreatedOrder: createdOrderSchema,
  Order: orderViewSchema,
  OrderPage: orderPageSchema,
  OrderFeedMessage: feedMessageSchema,
  OrderStreamEvent: orderStreamEventSchema,
  Restaurants: restaurantsSchema,
  Problem: problemSchema,
};

/** A route as registered (HEAD routes fastify adds for GET are left out). */
export interface RegisteredRoute {
  method: string;
  url: string;
  documented: boolean;
  /** A route that only answers 405 for the methods a path does not allow. */
  methodNotAllowed: boolean;
}

/** Every route as it is registered; the document is made from those that carry documentation. */
function documentRoutes(app: FastifyInstance, deps: HttpDeps) {
  const documented: DocumentedRoute[] = [];
  const registered: RegisteredRoute[] = [];
  app.addHook('onRoute', (r) => {
    const doc = r.config?.openapi;
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods.filter((m) => m !== 'HEAD')) {
      if (doc) documented.push({ method, url: r.url, doc });
      const methodNotAllowed = r.config?.methodNotAllowed === true;
      registered.push({ method, url: r.url, documented: doc !== undefined, methodNotAllowed });
    }
  });
  let document: unknown;
  const make = () =>
    (document ??= openApiDocument(documented, {
      authMode: deps.auth.mode,
      version: API_VERSION,
      schemas: NAMED_SCHEMAS,
    }));
  return { document: make, registered };
}

/** The API's version in the document: the package's. */
const API_VERSION = '0.1.0';

/** The HTTP server and the switch that starts its drain (SIGTERM). */
export interface OrderHttp {
  app: FastifyInstance;
  /** From now on every response says `Connection: close`, so clients leave this instance. */
  drain: () => void;
  /** What was registered (the document's test compares it with the document). */
  routes: readonly RegisteredRoute[];
}

function createFastify(limits: HttpLimits): FastifyInstance {
  return Fastify({
    logger: false,
    bodyLimit: limits.bodyLimitBytes,
    // Bounded request heads (431 before any handler runs); request timeouts checked every second.
    http: {
      maxHeaderSize: limits.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
    },
    // Trust the nearest `trustProxyHops` proxies' X-Forwarded-For (proxy-addr's hop count).
    trustProxy: (_address: string, hop: number) => hop < limits.trustProxyHops,
    clientErrorHandler: clientErrorHandler(limits.maxHeaderBytes),
    // A malformed path (bad percent-encoding, an over-long id) is a problem like any other.
    frameworkErrors: (err, req, reply) => {
      void sendProblem(req, reply, {
        code: 'validation',
        errors: [{ field: 'path', message: err.message.replace(/^'.*' /s, 'the path ') }],
      });
    },
    // A caller's request id is kept when sane, so it can follow the order as causation_id.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[\x21-\x7e]{1,200}$/.test(h) ? h : randomUUID();
    },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? 5_000,
    // While closing, a request on an open connection is answered: the drain told clients to leave.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
}

/** Request metrics by route pattern (never the raw URL: the label set stays bounded). */
function observeRequests(app: FastifyInstance, registry: Registry): void {
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
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const method = (METHODS as readonly string[]).includes(req.method) ? req.method : 'OTHER';
    requests.inc({ method, route, status: String(reply.statusCode) });
    duration.observe({ method, route }, reply.elapsedTime / 1000);
  });
}

/** Errors and unknown routes answer RFC 9457 problem details, from one place. */
function answerProblems(app: FastifyInstance, logger: Logger, bodyLimitBytes: number): void {
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
}

/** Per client: the authenticated customer, else the address (X-Forwarded-For behind trusted proxies). */
const registerRateLimit = (app: FastifyInstance) =>
  app.register(rateLimit, {
    global: false,
    hook: 'preParsing',
    keyGenerator: (req) =>
      req.principal?.kind === 'customer'
        ? `customer:${req.principal.customerId}`
        : `address:${req.ip}`,
    errorResponseBuilder: (_req, ctx) =>
      fail({
        code: 'rate-limited',
        limit: ctx.max,
        retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)),
      }),
  });

/** The public HTTP API, without listening: `start` listens, tests may `inject`. */
export async function buildHttp(deps: HttpDeps): Promise<OrderHttp> {
  const { limits } = deps;
  let draining = false;
  const app = createFastify(limits);
  app.addHook('onSend', async (_req, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  // JSON only: without this, fastify would hand a text/plain body to the handler.
  app.removeContentTypeParser(['text/plain']);
  app.decorateRequest('principal', null);
  await registerRateLimit(app);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  observeRequests(app, deps.registry);
  answerProblems(app, deps.logger, limits.bodyLimitBytes);
  const { document, registered } = documentRoutes(app, deps);
  registerRoutes(app, deps.ports, { authenticate: deps.authenticate, live: deps.live, ...limits });
  registerPages(app, { authMode: deps.auth.mode, issuer: deps.auth.issuer, document });
  return {
    app,
    routes: registered,
    drain: () => {
      draining = true;
    },
  };
}

/** The HTTP limits of the configuration. */
export const httpLimitsOf = (config: Config): HttpLimits => ({
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  maxHeaderBytes: config.HTTP_MAX_HEADER_BYTES,
  requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  trustProxyHops: config.HTTP_TRUST_PROXY_HOPS,
  rateLimitMax: config.RATE_LIMIT_MAX,
  rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
  keepAliveTimeoutMs: config.KEEP_ALIVE_TIMEOUT_MS,
});

/** What the start-up logs about the listener (never a secret). */
export const listeningOf = (config: Config, port: number) => ({
  port,
  host: config.HTTP_HOST,
  eventstore: config.EVENTSTORE_ADDRESS,
  authMode: config.AUTH_MODE,
  rateLimit:
    config.RATE_LIMIT_MAX > 0 ? `${config.RATE_LIMIT_MAX}/${config.RATE_LIMIT_WINDOW_MS}ms` : 'off',
});
