import { hostname } from 'node:os';
import { baseConfigShape, env, natsConfigShape } from '@orderflow/platform';
import { z } from 'zod';

/** The operator's environment (docs/operator.md lists each variable). */
export const configSchema = z.object({
  ...baseConfigShape,
  ...natsConfigShape,
  /** Namespace whose OrderFlow resources this instance reconciles (the chart sets its own namespace). */
  WATCH_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name')
    .default('default'),
  /** Identity in the leader Lease (the chart sets the pod name). */
  POD_NAME: z.string().min(1).default(hostname()),
  LEASE_NAME: z.string().min(1).default('orderflow-operator'),
  LEASE_DURATION_SECONDS: env.int(15, 2, 300),
  LEASE_RENEW_DEADLINE_SECONDS: env.int(10, 1, 300),
  LEASE_RETRY_PERIOD_SECONDS: env.int(2, 1, 60),
  /** Every resource is reconciled this often even without changes: lag is read and scaling decided then. */
  RESYNC_SECONDS: env.int(15, 1, 3600),
  WATCH_RESTART_DELAY_SECONDS: env.int(5, 1, 300),
});
export type OperatorConfig = z.infer<typeof configSchema>;

/** NATS URL for plan mode, which needs no other configuration. */
export function natsUrlFromEnv(env: Record<string, string | undefined> = process.env): string {
  return configSchema.shape.NATS_URL.parse(env.NATS_URL);
}
