import { z } from 'zod';
import type { ConsumerName } from './messaging';

/** The ConfigMap key the operator writes and every service reads (`RUNTIME_CONFIG_FILE`). */
export const RUNTIME_CONFIG_KEY = 'runtime.json';
export const runtimeConfigMapName = (orderflow: string): string => `${orderflow}-runtime`;

const consumerTunables = z
  .object({
    ackWaitMs: z.number().int().positive().optional(),
    maxDeliver: z.number().int().positive().optional(),
    maxAckPending: z.number().int().positive().optional(),
  })
  .loose();

/**
 * The runtime tunables as the services read them (docs/conventions.md, "Operator runtime
 * ConfigMap"): every key optional, unknown keys kept, so an older service reads a newer operator's
 * file and the reverse.
 */
export const runtimeConfigSchema = z
  .object({
    saga: z
      .object({
        paymentTimeoutMs: z.number().int().positive().optional(),
        restaurantTimeoutMs: z.number().int().positive().optional(),
      })
      .partial()
      .optional(),
    payment: z.object({ defaultCreditCents: z.number().int().nonnegative().optional() }).optional(),
    restaurant: z.object({ catalog: z.unknown().optional() }).optional(),
    consumers: z.record(z.string(), consumerTunables).optional(),
  })
  .loose();
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

export type ConsumerTunables = {
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
};

/** The runtime config as the operator writes it: every tunable set. */
export type RuntimeConfigDocument = {
  saga: { paymentTimeoutMs: number; restaurantTimeoutMs: number };
  payment: { defaultCreditCents: number };
  restaurant?: { catalog: unknown };
  consumers: Record<ConsumerName, ConsumerTunables>;
};

/** Compile-time proof that what the operator writes is what the services read. */
export const asRuntimeConfig = (doc: RuntimeConfigDocument): RuntimeConfig => doc;
