import { z } from 'zod';
import type { RuntimeConfig } from '@orderflow/contracts';
import { consumerServiceConfigShape, env } from '@orderflow/platform';
import type { Timeouts } from './domain/workflow';

/** Every environment variable of the saga, validated once at start (docs/conventions.md). */
export const configSchema = z.object({
  ...consumerServiceConfigShape(16),
  /** From `order-created` to a payment outcome; runtime config `saga.paymentTimeoutMs` overrides it. */
  PAYMENT_TIMEOUT_MS: env.int(30_000, 1, 7 * 24 * 3600 * 1000),
  /** From the debit to the restaurant's decision; runtime config `saga.restaurantTimeoutMs` overrides it. */
  RESTAURANT_TIMEOUT_MS: env.int(60_000, 1, 7 * 24 * 3600 * 1000),
  /** How often the timeout scanner looks for due deadlines. */
  TIMEOUT_SCAN_INTERVAL_MS: env.int(1000, 10, 600_000),
});
export type Config = z.infer<typeof configSchema>;

/** The timeouts in force: the runtime config's `saga.*`, else the environment's. */
export const timeoutsOf = (config: Config, cfg: RuntimeConfig): Timeouts => ({
  paymentTimeoutMs: cfg.saga?.paymentTimeoutMs ?? config.PAYMENT_TIMEOUT_MS,
  restaurantTimeoutMs: cfg.saga?.restaurantTimeoutMs ?? config.RESTAURANT_TIMEOUT_MS,
});
