import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@orderflow/contracts';
import { env } from '../config';
import { connectNats, drainNats, ensureStreams, jsManager, natsCheck } from '../nats';
import type { Readiness } from '../readiness';
import { startConsumer, type ConsumerOptions, type RunningConsumer } from './start-consumer';

/** The environment every consuming service shares (docs/conventions.md). */
export const consumerConfigShape = (concurrency: number) => ({
  CONSUMER_CONCURRENCY: env.int(concurrency, 1, 1024),
  /** Deliveries before a failing message is dead-lettered; `consumers.<name>.maxDeliver` in the runtime config overrides it. */
  CONSUMER_MAX_DELIVER: env.int(10, 1, 10_000),
  CONSUMER_ACK_WAIT_MS: env.int(10_000, 1_000, 3_600_000),
});

export interface EventConsumerConfig {
  NATS_URL: string;
  NATS_STREAM: string;
  CONSUMER_CONCURRENCY: number;
  CONSUMER_MAX_DELIVER: number;
  CONSUMER_ACK_WAIT_MS: number;
}

export interface EventConsumer {
  nc: NatsConnection;
  jsm: JetStreamManager;
  consumer: RunningConsumer;
  /** Drains the consumer, then the NATS connection. */
  stop(): Promise<void>;
}

/**
 * The consuming half of a consumer service: connect to NATS, create the streams when missing,
 * start the durable consumer, and register the `nats` and `consumer` readiness checks.
 */
export async function startEventConsumer(
  opts: {
    config: EventConsumerConfig;
    service: string;
    durable: string;
    filterSubject?: string;
    readiness: Readiness;
    /** Read per message; defaults to CONSUMER_MAX_DELIVER. */
    maxDeliver?: () => number;
  } & Pick<ConsumerOptions, 'eventTypes' | 'validate' | 'handle' | 'logger' | 'registry'>,
): Promise<EventConsumer> {
  const { config } = opts;
  const nc = await connectNats(config.NATS_URL, opts.logger, opts.service);
  const jsm = await jsManager(nc);
  await ensureStreams(jsm, { name: config.NATS_STREAM });
  const consumer = startConsumer({
    nc,
    jsm,
    stream: config.NATS_STREAM,
    settings: {
      durable: opts.durable,
      filterSubject: opts.filterSubject ?? subjects.allEvents,
      ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
    },
    concurrency: config.CONSUMER_CONCURRENCY,
    maxDeliver: opts.maxDeliver ?? config.CONSUMER_MAX_DELIVER,
    eventTypes: opts.eventTypes,
    validate: opts.validate,
    handle: opts.handle,
    logger: opts.logger,
    registry: opts.registry,
  });
  opts.readiness.add('nats', natsCheck(nc, jsm)).add('consumer', () => consumer.check());
  return {
    nc,
    jsm,
    consumer,
    async stop() {
      await consumer.stop();
      await drainNats(nc);
    },
  };
}
