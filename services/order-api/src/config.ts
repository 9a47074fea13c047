import { z } from 'zod';
import { baseConfigShape, env } from '@orderflow/platform';

/** Every environment variable of the order API, validated once at start (docs/conventions.md). */
export const configSchema = z.object({
  ...baseConfigShape,
  /** The public HTTP API. */
  HTTP_HOST: env.host('0.0.0.0'),
  HTTP_PORT: env.port(8080),
  /** The query database (`orderflow_query`): the order API only reads the `orders` read model. */
  DATABASE_URL: env.postgresUrl(),
  DATABASE_POOL_MAX: env.int(10, 1, 200),
  /** The event store's gRPC address (host:port). */
  EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
  /** Deadline of every event store call; past it the request answers 503. */
  EVENTSTORE_TIMEOUT_MS: env.int(5000, 10, 120_000),
  /** Largest accepted request body; a bigger one answers 413. */
  BODY_LIMIT_BYTES: env.int(65_536, 1024, 10 * 1024 * 1024),
  /**
   * After SIGTERM, keep answering for this long (readiness already false, every response with
   * `Connection: close`) before closing: clients leave their kept-alive connections without a
   * request ever meeting a closed socket. Set it above KEEP_ALIVE_TIMEOUT_MS (the chart does).
   */
  SHUTDOWN_DRAIN_MS: env.int(0, 0, 120_000),
  /** How long an idle kept-alive connection stays open (announced in `Keep-Alive: timeout=`). */
  KEEP_ALIVE_TIMEOUT_MS: env.int(5_000, 1_000, 600_000),
});
export type Config = z.infer<typeof configSchema>;
