import { z } from 'zod';
import { baseConfigShape, databaseConfigShape, env, natsConfigShape } from '@orderflow/platform';

/** Every environment variable of the event store, validated once at start. */
export const configSchema = z.object({
  ...baseConfigShape,
  ...databaseConfigShape,
  ...natsConfigShape,
  GRPC_HOST: env.host('0.0.0.0'),
  GRPC_PORT: env.port(50051),
  /** Replicas of the JetStream stream when the event store creates it. */
  NATS_STREAM_REPLICAS: env.int(1, 1, 5),
  RELAY_INTERVAL_MS: env.int(1000, 10, 60_000),
  RELAY_GRACE_MS: env.int(2000, 0, 600_000),
  RELAY_BATCH_SIZE: env.int(500, 1, 10_000),
  PUBLISH_MAX_IN_FLIGHT: env.int(10_000, 1, 1_000_000),
  /** Group commit: most appends to distinct streams committed in one transaction (1 turns it off). */
  APPEND_BATCH_MAX: env.int(256, 1, 1000),
  /** Group-commit transactions running at once; keep it below DATABASE_POOL_MAX. */
  APPEND_BATCH_CONCURRENCY: env.int(4, 1, 100),
});
export type Config = z.infer<typeof configSchema>;
