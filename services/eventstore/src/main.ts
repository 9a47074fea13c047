import './telemetry';
import { createLogger, loadConfig, runMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow event store: gRPC (orderflow.eventstore.v1.EventStore) over PostgreSQL/CockroachDB,
publishing every committed event to NATS JetStream.

usage: node services/eventstore/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/conventions.md (DATABASE_URL is required; GRPC_PORT 50051, OPS_PORT 9090,
NATS_URL nats://127.0.0.1:4222, NATS_STREAM ORDERS, RELAY_INTERVAL_MS 1000, RELAY_GRACE_MS 2000).`;

const arg = process.argv[2];
if (arg === '--help' || arg === '-h') {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
runMain(async () => {
  const config = loadConfig(configSchema);
  const logger = createLogger('eventstore', config.LOG_LEVEL);
  if (arg === 'migrate') {
    await runMigrations(config, logger);
    logger.info('migrations done');
    process.exit(0);
  }
  if (arg !== undefined) throw new Error(`unknown argument "${arg}"; see --help`);
  return start(config, logger);
});
