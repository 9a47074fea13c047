import './telemetry';
import { createLogger, loadConfig, runMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow restaurant service: consumes order-payment-debited from JetStream (durable consumer
"restaurant"), approves or rejects the order against its catalog, and appends the decision to the
event store.

usage: node services/restaurant/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/services.md (DATABASE_URL is required; CATALOG_FILE config/catalog.json,
EVENTSTORE_ADDRESS 127.0.0.1:50051, CONSUMER_CONCURRENCY 16, CONSUMER_MAX_DELIVER 10,
CONSUMER_ACK_WAIT_MS 10000, RUNTIME_CONFIG_FILE unset, OPS_PORT 9090, NATS_URL nats://127.0.0.1:4222).`;

const arg = process.argv[2];
if (arg === '--help' || arg === '-h') {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
runMain(async () => {
  const config = loadConfig(configSchema);
  const logger = createLogger('restaurant', config.LOG_LEVEL);
  if (arg === 'migrate') {
    await runMigrations(config, logger);
    logger.info('migrations done');
    process.exit(0);
  }
  if (arg !== undefined) throw new Error(`unknown argument "${arg}"; see --help`);
  return start(config, logger);
});
