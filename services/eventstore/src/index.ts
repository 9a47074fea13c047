// The event store as a library, for in-process use (benchmarks) and tests.
export { PgEventStore } from './adapters/pg-event-store';
export { Publisher } from './adapters/publisher';
export { PipelinedJetStream } from './adapters/jetstream-publish';
export { migrationsDir, start, runMigrations } from './app';
export { configSchema } from './config';
export * from './domain/append';
export * from './domain/errors';
