import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow saga: follows every order from order-created to Approved or Cancelled, requests
refunds and cancels on decline, rejection and timeouts (durable JetStream consumer "saga").

usage: node services/saga/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/services.md (DATABASE_URL is required; EVENTSTORE_ADDRESS 127.0.0.1:50051,
PAYMENT_TIMEOUT_MS 30000, RESTAURANT_TIMEOUT_MS 60000, TIMEOUT_SCAN_INTERVAL_MS 1000,
CONSUMER_CONCURRENCY 16, CONSUMER_MAX_DELIVER 10, CONSUMER_ACK_WAIT_MS 10000, RUNTIME_CONFIG_FILE).`;

serviceMain({
  name: 'saga',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
  migrate: runMigrations,
});
