// The order API as a library, for in-process use in tests.
export { start, type OrderApiApp } from './app';
export { configSchema, type Config } from './config';
