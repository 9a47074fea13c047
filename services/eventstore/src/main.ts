import './telemetry';
import { loadConfig, serviceMain } from '@orderflow/platform';
import { runMigrations, start } from './app';
import { configSchema } from './config';

const HELP = `orderflow event store: gRPC (orderflow.eventstore.v1.EventStore) over PostgreSQL/CockroachDB,
publishing every committed event to NATS JetStream.

usage: node services/eventstore/dist/main.js [migrate]

  migrate   run the SQL migrations and exit
  (none)    run the service

Environment: see docs/conventions.md (DATABASE_URL is required; GRPC_PORT 50051, OPS_PORT 9090,
NATS_URL nats://127.0.0.1:4222, NATS_STREAM ORDERS, RELAY_INTERVAL_MS 1000, RELAY_GRACE_MS 2000).`;

serviceMain({
  name: 'eventstore',
  help: HELP,
  loadConfig: () => loadConfig(configSchema),
  start,
  migrate: runMigrations,
});
