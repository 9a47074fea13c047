import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { start } from './app';
import { configSchema } from './config';

const HELP = `orderflow order API: the public HTTP API of orders.

  POST /api/orders                 place an order (Idempotency-Key header honoured)
  GET  /api/orders/:id             one order from the read model
  GET  /api/orders?customerId=...  a customer's orders, newest first (limit, cursor)
  GET  /api/orders/:id/events      the order live (Server-Sent Events; id = stream version,
                                   Last-Event-ID resumes, ends at Approved or Cancelled)
  GET  /api/restaurants            the menus orders are priced from
  GET  /                           the console (place and follow orders in a browser)
  GET  /docs, /openapi.json        the API reference (Swagger UI) and its OpenAPI 3.1 document

Live order feed: the query workers announce each projected row on NATS core
(orderflow.projected.order.<id>, NATS_URL); each instance subscribes per followed order, fills a
gap from the event store, and every SSE_HEARTBEAT_MS sends a heartbeat and catches up streams the
feed missed from the read model. At most SSE_MAX_STREAMS streams per instance (503 beyond).

Prices come from the menu (CATALOG_FILE, replaced live by the runtime config's restaurant.catalog):
an item is {"code", "quantity"}, and a "unitPrice" it carries is only the price the client expects
(a different menu price answers 409 price-changed; nothing is ordered). An unknown restaurant or item
code, or a closed restaurant, answers 422 naming the field.

Authentication (AUTH_MODE, required): oidc = bearer JWTs verified against AUTH_ISSUER's JWKS
(AUTH_AUDIENCE, AUTH_ALGORITHMS, exp required); the customer is the AUTH_CUSTOMER_CLAIM claim and may
order and read only as itself (403 otherwise); AUTH_STAFF_CLAIM containing AUTH_STAFF_VALUE may read
every order. dev = the same against the local issuer of \`make up AUTH=dev\`. none = no authentication
(a warning at start). No token: 401 with WWW-Authenticate. The ops port (health, readiness, metrics)
is never authenticated.

Limits: RATE_LIMIT_MAX orders per RATE_LIMIT_WINDOW_MS per client (the customer, else the address)
answer 429 with Retry-After; request heads over HTTP_MAX_HEADER_BYTES answer 431, bodies over
BODY_LIMIT_BYTES 413, requests not received within HTTP_REQUEST_TIMEOUT_MS 408.

usage: node services/order-api/dist/main.js [migrate]

  migrate   checks the configuration and exits 0: the order API owns no tables (every service takes it)
  (none)    run the service

Environment (see docs/services.md): DATABASE_URL (required, the query database), AUTH_MODE (required:
oidc, dev or none), DATABASE_POOL_MAX 10, HTTP_HOST 0.0.0.0, HTTP_PORT 8080, OPS_HOST 0.0.0.0,
OPS_PORT 9090, EVENTSTORE_ADDRESS 127.0.0.1:50051, EVENTSTORE_TIMEOUT_MS 5000, BODY_LIMIT_BYTES 65536,
HTTP_MAX_HEADER_BYTES 16384, HTTP_REQUEST_TIMEOUT_MS 30000, HTTP_TRUST_PROXY_HOPS 0,
CATALOG_FILE config/catalog.json, RUNTIME_CONFIG_FILE unset, AUTH_ISSUER (oidc, dev), AUTH_JWKS_URL
(default: discovery), AUTH_AUDIENCE orderflow, AUTH_ALGORITHMS RS256,PS256,ES256,EdDSA,
AUTH_CUSTOMER_CLAIM sub, AUTH_STAFF_CLAIM scope, AUTH_STAFF_VALUE orders:staff,
AUTH_CLOCK_TOLERANCE_S 5, AUTH_JWKS_TIMEOUT_MS 5000, AUTH_JWKS_COOLDOWN_MS 30000,
RATE_LIMIT_MAX 60 (0: off), RATE_LIMIT_WINDOW_MS 60000, NATS_URL nats://127.0.0.1:4222,
SSE_MAX_STREAMS 1000, SSE_HEARTBEAT_MS 15000, LOG_LEVEL info, OTEL_* (tracing).`;

serviceMain({
  name: 'order-api',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
});
