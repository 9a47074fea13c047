import { z } from 'zod';
import { consumerServiceConfigShape, env } from '@orderflow/platform';

/** Every environment variable of the payment service, validated once at start. */
export const configSchema = z.object({
  ...consumerServiceConfigShape(16),
  /** Credit of an account created on a customer's first order; the runtime config's `payment.defaultCreditCents` overrides it for new accounts. */
  DEFAULT_CREDIT_CENTS: env.int(100_000, 0),
});
export type Config = z.infer<typeof configSchema>;
