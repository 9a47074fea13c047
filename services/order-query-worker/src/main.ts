import './telemetry';
import { createLogger, loadConfig, runMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';
import { rebuild } from './rebuild';

const HELP = `orderflow order query worker: projects every order event from JetStream (durable consumer
"order-query", shared by all replicas) into the orders read model.

usage: node services/order-query-worker/dist/main.js [migrate | rebuild [--truncate]]

  migrate             run the SQL migrations and exit
  rebuild             read every event from the event store (ReadAll) into an empty orders table
  rebuild --truncate  empty the orders table first (stop the workers before)
  (none)              run the worker

Environment: see docs/services.md (DATABASE_URL is required; NATS_URL nats://127.0.0.1:4222,
CONSUMER_CONCURRENCY 32, CONSUMER_MAX_DELIVER 10, CONSUMER_ACK_WAIT_MS 10000, OPS_PORT 9090,
EVENTSTORE_ADDRESS 127.0.0.1:50051 for rebuild).`;

const [arg, ...rest] = process.argv.slice(2);
if (arg === '--help' || arg === '-h') {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
runMain(async () => {
  const config = loadConfig(configSchema);
  const logger = createLogger('order-query-worker', config.LOG_LEVEL);
  if (arg === 'migrate') {
    await runMigrations(config, logger);
    logger.info('migrations done');
    process.exit(0);
  }
  if (arg === 'rebuild') {
    const unknown = rest.filter((a) => a !== '--truncate');
    if (unknown.length > 0)
      throw new Error(`unknown rebuild option ${unknown.join(' ')}; see --help`);
    const report = await rebuild(config, logger, { truncate: rest.includes('--truncate') });
    process.exit(report.unresolved > 0 ? 2 : 0);
  }
  if (arg !== undefined) throw new Error(`unknown argument "${arg}"; see --help`);
  return start(config, logger);
});
