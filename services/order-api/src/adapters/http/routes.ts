import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listRestaurants } from '../../application/list-restaurants';
import { getOrder, listOrders } from '../../application/read-orders';
import { placeOrder } from '../../application/place-order';
import type { OrderApiPorts } from '../../application/ports';
import type { Principal } from '../../domain/auth';
import { fail } from '../../domain/problems';
import type { Authenticate } from '../../authenticate';
import {
  getOrderDoc,
  listOrdersDoc,
  orderEventsDoc,
  placeOrderDoc,
  restaurantsDoc,
} from './api-docs';
import type { LiveStreams } from './live';
import type { OperationDoc } from './openapi';
import { traced } from './traced';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's part of /openapi.json; a route without it is not documented (a test fails). */
    openapi?: OperationDoc;
    /** Set on the routes that answer 405 for the methods a path does not allow. */
    methodNotAllowed?: boolean;
  }
}

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface RouteOptions {
  authenticate: Authenticate;
  bodyLimitBytes: number;
  /** Orders per client per window; 0 turns the limit off. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  live: LiveStreams;
}

const principalOf = (req: FastifyRequest): Principal => {
  if (!req.principal) throw new Error('route without the authentication hook');
  return req.principal;
};

/** Known paths answer 405 (with Allow) for other methods, before any body is read. */
export function methodNotAllowed(
  app: FastifyInstance,
  url: string,
  allow: readonly string[],
): void {
  app.route({
    method: METHODS.filter((m) => !allow.includes(m)),
    url,
    config: { methodNotAllowed: true },
    onRequest: async (req) => {
      await Promise.resolve();
      throw fail({ code: 'method-not-allowed', method: req.method, allow });
    },
    handler: (_req, reply) => reply.code(405).send(),
  });
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** The routes of the public API: each hands its request to its use case (application/). */
export function registerRoutes(
  app: FastifyInstance,
  ports: OrderApiPorts,
  opts: RouteOptions,
): void {
  const span = traced(opts.bodyLimitBytes);
  /** Authentication of every /api route, before its body is read (and before the rate limit). */
  const onRequest = async (req: FastifyRequest): Promise<void> => {
    req.principal = await opts.authenticate(req.headers.authorization);
  };
  const rateLimit =
    opts.rateLimitMax > 0
      ? { rateLimit: { max: opts.rateLimitMax, timeWindow: opts.rateLimitWindowMs } }
      : {};
  app.post(
    '/api/orders',
    { onRequest, config: { openapi: placeOrderDoc, ...rateLimit } },
    span('/api/orders', async (req, reply, s) => {
      const placed = await placeOrder(ports, {
        principal: principalOf(req),
        idempotencyKey: req.headers['idempotency-key'],
        body: req.body,
        requestId: req.id,
        onOrderId: (orderId) => s.setAttribute('orderflow.order_id', orderId),
      });
      if (placed.replayed) reply.header('idempotent-replayed', 'true');
      reply.code(201).header('location', `/api/orders/${placed.order.orderId}`);
      return placed.order;
    }),
  );
  app.get(
    '/api/orders',
    { onRequest, config: { openapi: listOrdersDoc } },
    span('/api/orders', (req) => listOrders(ports, principalOf(req), req.query)),
  );
  app.get<{ Params: { id: string } }>(
    '/api/orders/:id',
    { onRequest, config: { openapi: getOrderDoc } },
    span('/api/orders/:id', (req: IdRequest) => getOrder(ports, principalOf(req), req.params.id)),
  );
  app.get<{ Params: { id: string } }>(
    '/api/orders/:id/events',
    { onRequest, config: { openapi: orderEventsDoc } },
    span('/api/orders/:id/events', (req: IdRequest, reply) =>
      opts.live.serve(req, reply, principalOf(req)),
    ),
  );
  app.get(
    '/api/restaurants',
    { onRequest, config: { openapi: restaurantsDoc } },
    span('/api/restaurants', () => Promise.resolve(listRestaurants(ports))),
  );
  methodNotAllowed(app, '/api/orders', ['GET', 'HEAD', 'POST']);
  methodNotAllowed(app, '/api/orders/:id', ['GET', 'HEAD']);
  methodNotAllowed(app, '/api/orders/:id/events', ['GET', 'HEAD']);
  methodNotAllowed(app, '/api/restaurants', ['GET', 'HEAD']);
}
