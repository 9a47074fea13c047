import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow payment service: consumes order-created and order-refund-requested from JetStream
(durable consumer "payment"), debits, declines or refunds customer accounts, and appends the outcome
to the event store.

usage: node services/payment/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/services.md (DATABASE_URL is required; EVENTSTORE_ADDRESS 127.0.0.1:50051,
DEFAULT_CREDIT_CENTS 100000, CONSUMER_CONCURRENCY 16, CONSUMER_MAX_DELIVER 10,
CONSUMER_ACK_WAIT_MS 10000, RUNTIME_CONFIG_FILE unset, OPS_PORT 9090, NATS_URL nats://127.0.0.1:4222).`;

serviceMain({
  name: 'payment',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
  migrate: runMigrations,
});
