import { z } from 'zod';
import {
  baseConfigShape,
  consumerConfigShape,
  databaseConfigShape,
  env,
  natsConfigShape,
} from '@orderflow/platform';

/** Every environment variable of the restaurant service, validated once at start. */
export const configSchema = z.object({
  ...baseConfigShape,
  ...databaseConfigShape,
  ...natsConfigShape,
  EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
  /** Restaurants and menus (JSON); a relative path is resolved from the working directory (the repo root, `/app` in the image). */
  CATALOG_FILE: z.string().min(1).default('config/catalog.json'),
  ...consumerConfigShape(16),
  /** JSON file of runtime tunables written by the operator (`restaurant.catalog` replaces the catalog file). */
  RUNTIME_CONFIG_FILE: env.optionalPath(),
});
export type Config = z.infer<typeof configSchema>;
