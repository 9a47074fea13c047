import { join } from 'node:path';
import { consumers } from '@orderflow/contracts';
import {
  createLogger,
  migrationsCommand,
  runtimeSetting,
  startConsumerService,
  validateOrderEnvelope,
  type Envelope,
  type Logger,
  type MessageOutcome,
} from '@orderflow/platform';
import { paymentHandler } from './application/handle-message';
import { paymentAdapters } from './adapters/payment-adapters';
import type { PgPayments } from './adapters/pg-payments';
import type { Config } from './config';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const runMigrations = migrationsCommand(migrationsDir);
export const CONSUMER = consumers.payment;
export const validateEvent = validateOrderEnvelope;

export interface PaymentApp {
  opsPort: number;
  payments: PgPayments;
  /** The message handler, exposed so tests can deliver one envelope more than once. */
  handle(event: Envelope): Promise<MessageOutcome>;
  stop(): Promise<void>;
}

/** Starts the payment service: consumer `payment` debits, declines and refunds (application/). */
export async function start(
  config: Config,
  logger: Logger = createLogger('payment', config.LOG_LEVEL),
): Promise<PaymentApp> {
  const defaultCreditCents = runtimeSetting(
    (cfg) => cfg.payment?.defaultCreditCents ?? config.DEFAULT_CREDIT_CENTS,
    (next, previous) => {
      if (next !== previous)
        logger.info({ defaultCreditCents: next }, 'default credit of new accounts changed');
    },
  );
  const service = await startConsumerService(
    { name: 'payment', consumer: CONSUMER, config, logger, migrationsDir },
    ({ pool, registry, eventSourcing }) => {
      const { payments, metrics } = paymentAdapters(pool, registry);
      const ports = { payments, eventSourcing, metrics, logger };
      const handle = paymentHandler({ ...ports, defaultCreditCents: defaultCreditCents.get });
      return {
        payments,
        handle,
        validate: validateEvent,
        onRuntimeConfig: defaultCreditCents.apply,
      };
    },
  );
  const { payments, handle } = service.parts;
  return { opsPort: service.opsPort, payments, handle, stop: () => service.stop() };
}
