// The saga as a library, for tests.
export { CONSUMER, migrationsDir, runMigrations, start, type SagaApp } from './app';
export { configSchema, type Config } from './config';
export * from './domain/workflow';
