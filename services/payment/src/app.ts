import { join } from 'node:path';
import { eventTypes, orderStreamId, parseEvent, type EventOf } from '@orderflow/events';
import {
  Readiness,
  counter,
  createEventStoreClient,
  createLogger,
  createMetricsRegistry,
  createPool,
  migrate,
  startOpsServer,
  watchRuntimeConfig,
  type Envelope,
  type Logger,
  type Outcome,
  migrateDatabase,
  databaseCheck,
  validateOrderEnvelope,
  startEventConsumer,
} from '@orderflow/platform';
import { PgPayments } from './adapters/pg-payments';
import { PRODUCER, appendOne, metadataCausedBy } from './adapters/event-store';
import type { Config } from './config';
import { paymentEventId, paymentOutcomeEvent, refundEvent, refundEventId } from './domain/payment';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const CONSUMER = 'payment';

export interface PaymentApp {
  opsPort: number;
  payments: PgPayments;
  /** The message handler, exposed so tests can deliver one envelope more than once. */
  handle(event: Envelope): Promise<Outcome>;
  stop(): Promise<void>;
}

export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

/** The catalogue check of every message: a message the catalogue rejects can never be handled. */
export const validateEvent = validateOrderEnvelope;

/** Starts the payment service: migrations, event store client, JetStream consumer `payment`, ops server. */
export async function start(
  config: Config,
  logger: Logger = createLogger(PRODUCER, config.LOG_LEVEL),
): Promise<PaymentApp> {
  const registry = createMetricsRegistry(PRODUCER);
  const readiness = new Readiness();
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });

  const debitedCents = counter(registry, {
    name: 'orderflow_payment_debited_cents_total',
    help: 'Cents debited from customer accounts.',
  });
  const refundedCents = counter(registry, {
    name: 'orderflow_payment_refunded_cents_total',
    help: 'Cents credited back by refunds.',
  });
  const payments = counter(registry, {
    name: 'orderflow_payments_total',
    help: 'Payment decisions recorded, by outcome.',
    labelNames: ['outcome'] as const,
  });
  const refunds = counter(registry, { name: 'orderflow_refunds_total', help: 'Refunds recorded.' });
  const txRetries = counter(registry, {
    name: 'orderflow_payment_tx_retries_total',
    help: 'Local transactions run again after SQLSTATE 40001.',
  });

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
  const repo = new PgPayments(pool, { onRetry: () => txRetries.inc() });

  let defaultCreditCents = config.DEFAULT_CREDIT_CENTS;
  // Deliveries before a failing message is dead-lettered: the operator's runtime config may change it.
  let maxDeliver = config.CONSUMER_MAX_DELIVER;
  const runtime = watchRuntimeConfig(config.RUNTIME_CONFIG_FILE, logger, (cfg) => {
    maxDeliver = cfg.consumers?.[CONSUMER]?.maxDeliver ?? config.CONSUMER_MAX_DELIVER;
    const next = cfg.payment?.defaultCreditCents ?? config.DEFAULT_CREDIT_CENTS;
    if (next !== defaultCreditCents)
      logger.info({ defaultCreditCents: next }, 'default credit of new accounts changed');
    defaultCreditCents = next;
  });

  const eventStore = createEventStoreClient(config.EVENTSTORE_ADDRESS);

  const onOrderCreated = async (
    cause: Envelope,
    data: EventOf<'order-created'>['data'],
  ): Promise<Outcome> => {
    const decision = await repo.pay(
      { orderId: data.orderId, customerId: data.customerId, amount: data.amount },
      defaultCreditCents,
    );
    switch (decision.kind) {
      case 'debit':
        payments.inc({ outcome: 'debited' });
        debitedCents.inc(decision.payment.amount);
        break;
      case 'decline':
        payments.inc({ outcome: 'declined' });
        break;
      case 'already-recorded':
        break;
      default: {
        const never: never = decision;
        throw new Error(`unexpected decision ${JSON.stringify(never)}`);
      }
    }
    const p = decision.payment;
    // Appended even when the payment was recorded before: a crash may have come between the local
    // commit and the append; the deterministic id makes a second append a no-op.
    const r = await appendOne(
      eventStore.client,
      orderStreamId(p.orderId),
      -2,
      paymentEventId(p.orderId),
      paymentOutcomeEvent(p),
      metadataCausedBy(cause),
    );
    logger.info(
      {
        orderId: p.orderId,
        outcome: p.outcome,
        replay: decision.kind === 'already-recorded',
        duplicate: r.duplicate,
      },
      'payment decided',
    );
    return decision.kind === 'already-recorded' && r.duplicate ? 'duplicate' : 'handled';
  };

  const onRefundRequested = async (
    cause: Envelope,
    data: EventOf<'order-refund-requested'>['data'],
  ): Promise<Outcome> => {
    const decision = await repo.refund(data.orderId);
    switch (decision.kind) {
      case 'ignore':
        logger.warn({ orderId: data.orderId, reason: decision.reason }, 'refund request ignored');
        return 'ignored';
      case 'refund':
        refunds.inc();
        refundedCents.inc(decision.refund.amount);
        break;
      case 'already-refunded':
        break;
      default: {
        const never: never = decision;
        throw new Error(`unexpected decision ${JSON.stringify(never)}`);
      }
    }
    const r = await appendOne(
      eventStore.client,
      orderStreamId(data.orderId),
      -2,
      refundEventId(data.orderId),
      refundEvent(decision.refund),
      metadataCausedBy(cause),
    );
    logger.info(
      {
        orderId: data.orderId,
        replay: decision.kind === 'already-refunded',
        duplicate: r.duplicate,
      },
      'refund recorded',
    );
    return decision.kind === 'already-refunded' && r.duplicate ? 'duplicate' : 'handled';
  };

  const handle = async (envelope: Envelope): Promise<Outcome> => {
    const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
    switch (event.type) {
      case 'order-created':
        return onOrderCreated(envelope, event.data);
      case 'order-refund-requested':
        return onRefundRequested(envelope, event.data);
      case 'order-payment-debited':
      case 'order-payment-declined':
      case 'order-approved':
      case 'order-rejected':
      case 'order-payment-refunded':
      case 'order-cancelled':
        return 'ignored';
      default: {
        const never: never = event;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };

  const bus = await startEventConsumer({
    config,
    service: PRODUCER,
    durable: CONSUMER,
    readiness,
    maxDeliver: () => maxDeliver,
    eventTypes,
    validate: validateEvent,
    handle,
    logger,
    registry,
  });

  readiness.add('database', databaseCheck(pool));
  readiness.started();
  logger.info('payment service started');

  return {
    opsPort: ops.port,
    payments: repo,
    handle,
    async stop() {
      readiness.markStopping();
      runtime.close();
      await bus.stop();
      eventStore.close();
      await pool.end();
      await ops.close();
    },
  };
}
