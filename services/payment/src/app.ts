import { join } from 'node:path';
import { consumers, type RuntimeConfig } from '@orderflow/contracts';
import {
  createLogger,
  migrateDatabase,
  startConsumerService,
  validateOrderEnvelope,
  type Envelope,
  type Logger,
  type MessageOutcome,
} from '@orderflow/platform';
import { paymentHandler } from './application/handle-message';
import { paymentMetrics, txRetriesCounter } from './adapters/metrics';
import { PgPayments } from './adapters/pg-payments';
import type { Config } from './config';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const CONSUMER = consumers.payment;
export const validateEvent = validateOrderEnvelope;
export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

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
  let defaultCreditCents = config.DEFAULT_CREDIT_CENTS;
  const service = await startConsumerService({
    name: 'payment',
    consumer: CONSUMER,
    config,
    logger,
    migrationsDir,
    setup: ({ pool, registry, eventSourcing }) => {
      const txRetries = txRetriesCounter(registry);
      const payments = new PgPayments(pool, { onRetry: () => txRetries.inc() });
      const metrics = paymentMetrics(registry);
      const ports = {
        payments,
        eventSourcing,
        metrics,
        logger,
        defaultCreditCents: () => defaultCreditCents,
      };
      return {
        payments,
        handle: paymentHandler(ports),
        validate: validateEvent,
        onRuntimeConfig: (cfg: RuntimeConfig) => {
          const next = cfg.payment?.defaultCreditCents ?? config.DEFAULT_CREDIT_CENTS;
          if (next !== defaultCreditCents)
            logger.info({ defaultCreditCents: next }, 'default credit of new accounts changed');
          defaultCreditCents = next;
        },
      };
    },
  });
  const { payments, handle } = service.parts;
  return { opsPort: service.opsPort, payments, handle, stop: () => service.stop() };
}
