import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow restaurant service: consumes order-payment-debited from JetStream (durable consumer
"restaurant"), approves or rejects the order against its catalog as it is now (the restaurant exists
and is open, knows every item code, and charges the price the order API priced the order at: a menu
changed in between rejects the order, and the saga refunds it), and appends the decision to the
event store. The catalog is CATALOG_FILE, replaced live by the runtime config's restaurant.catalog;
the order API reads the same two to price orders.

usage: node services/restaurant/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/services.md (DATABASE_URL is required; CATALOG_FILE config/catalog.json,
EVENTSTORE_ADDRESS 127.0.0.1:50051, CONSUMER_CONCURRENCY 16, CONSUMER_MAX_DELIVER 10,
CONSUMER_ACK_WAIT_MS 10000, RUNTIME_CONFIG_FILE unset, OPS_PORT 9090, NATS_URL nats://127.0.0.1:4222).`;

serviceMain({
  name: 'restaurant',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
  migrate: runMigrations,
});
