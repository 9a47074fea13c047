import { z } from 'zod';
import { consumerServiceConfigShape } from '@orderflow/platform';

/** Every environment variable of the restaurant service, validated once at start. */
export const configSchema = z.object({
  ...consumerServiceConfigShape(16),
  /** Restaurants and menus (JSON); a relative path is resolved from the working directory (the repo root, `/app` in the image); the runtime config's `restaurant.catalog` replaces it. */
  CATALOG_FILE: z.string().min(1).default('config/catalog.json'),
});
export type Config = z.infer<typeof configSchema>;
