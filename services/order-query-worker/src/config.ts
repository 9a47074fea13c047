import { z } from 'zod';
import {
  baseConfigShape,
  consumerConfigShape,
  databaseConfigShape,
  env,
  natsConfigShape,
} from '@orderflow/platform';

/** Every environment variable of the order query worker, validated once at start. */
export const configSchema = z.object({
  ...baseConfigShape,
  ...databaseConfigShape,
  ...natsConfigShape,
  /** Used by `rebuild` only (ReadAll). */
  EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
  ...consumerConfigShape(32),
  /**
   * The operator's runtime tunables (docs/conventions.md). Accepted so every consumer service takes
   * the same mount; the worker has no runtime tunables of its own yet (its consumer's settings are
   * the operator's, on the JetStream side).
   */
  RUNTIME_CONFIG_FILE: env.optionalPath(),
});
export type Config = z.infer<typeof configSchema>;
