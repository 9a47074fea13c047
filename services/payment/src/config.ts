import { z } from 'zod';
import {
  baseConfigShape,
  consumerConfigShape,
  databaseConfigShape,
  env,
  natsConfigShape,
} from '@orderflow/platform';

/** Every environment variable of the payment service, validated once at start. */
export const configSchema = z.object({
  ...baseConfigShape,
  ...databaseConfigShape,
  ...natsConfigShape,
  EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
  /** Credit of an account created on a customer's first order; the runtime config overrides it for new accounts. */
  DEFAULT_CREDIT_CENTS: env.int(100_000, 0),
  ...consumerConfigShape(16),
  /** JSON file of runtime tunables written by the operator (`payment.defaultCreditCents`). */
  RUNTIME_CONFIG_FILE: env.optionalPath(),
});
export type Config = z.infer<typeof configSchema>;
