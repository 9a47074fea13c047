import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { start } from './app';
import { configSchema } from './config';

const HELP = `orderflow order API: the public HTTP API of orders.

  POST /api/orders                 place an order (Idempotency-Key header honoured)
  GET  /api/orders/:id             one order from the read model
  GET  /api/orders?customerId=...  a customer's orders, newest first (limit, cursor)

usage: node services/order-api/dist/main.js [migrate]

  migrate   checks the configuration and exits 0: the order API owns no tables (every service takes it)
  (none)    run the service

Environment (see docs/services.md): DATABASE_URL (required, the query database), DATABASE_POOL_MAX 10,
HTTP_HOST 0.0.0.0, HTTP_PORT 8080, OPS_HOST 0.0.0.0, OPS_PORT 9090, EVENTSTORE_ADDRESS 127.0.0.1:50051,
EVENTSTORE_TIMEOUT_MS 5000, BODY_LIMIT_BYTES 65536, LOG_LEVEL info, OTEL_* (tracing).`;

serviceMain({
  name: 'order-api',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
});
