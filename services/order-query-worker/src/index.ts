// The order query worker as a library: the pure projection (for checkers) and the service for tests.
export { CONSUMER, migrationsDir, runMigrations, start } from './app';
export { configSchema } from './config';
export * from './domain/projection';
export { rebuild, type RebuildReport } from './rebuild';
