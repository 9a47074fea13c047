import './telemetry';
import { ConfigError, loadConfig, serviceMain } from '@orderflow/platform';
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

serviceMain({
  name: 'order-query-worker',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
  migrate: runMigrations,
  commands: {
    // Reads every event through ReadAll into an empty orders table; exit 2 when events stayed unresolved.
    rebuild: async (config, logger, args) => {
      const unknown = args.filter((a) => a !== '--truncate');
      if (unknown.length > 0)
        throw new ConfigError(`unknown rebuild option ${unknown.join(' ')}; see --help`);
      const report = await rebuild(config, logger, { truncate: args.includes('--truncate') });
      return report.unresolved > 0 ? 2 : 0;
    },
  },
});
