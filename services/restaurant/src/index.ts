// The restaurant service as a library, for in-process use in tests.
export { CONSUMER, migrationsDir, runMigrations, start, validateEvent } from './app';
export { configSchema } from './config';
export * from './domain/decide';
