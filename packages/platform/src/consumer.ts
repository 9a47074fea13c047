import {
  jetstream,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  PoisonMessageError,
  RetryLaterError,
  decodeEnvelope,
  headersToRecord,
  type Envelope,
} from './envelope';
import { isTransientGrpcError } from './grpc';
import { counter, gauge, histogram } from './metrics';
import { env } from './config';
import {
  connectNats,
  ensureConsumer,
  ensureStreams,
  jsManager,
  natsCheck,
  subjects,
  type ConsumerSettings,
} from './nats';
import type { Readiness } from './readiness';
import { SpanKind, extractTraceContext, withSpan } from './tracing';

/** What a handler did with a message; all three are acked. */
export type Outcome = 'handled' | 'duplicate' | 'ignored';

export interface ConsumerOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  settings: ConsumerSettings;
  /** Messages handled at once (bounded concurrency). */
  concurrency: number;
  /** Deliveries before a failing message is terminated and dead-lettered; a function is read per message (runtime config). */
  maxDeliver: number | (() => number);
  /** Event types this consumer knows; others get the label `other` (bounded label values). */
  eventTypes: readonly string[];
  handle: (event: Envelope, ctx: { deliveryCount: number }) => Promise<Outcome>;
  /** Checks the envelope against the event catalogue; throws PoisonMessageError when it cannot be handled. */
  validate?: (event: Envelope) => void;
  logger: Logger;
  registry: Registry;
}

export interface RunningConsumer {
  /** Readiness: the consume loop is subscribed and the durable consumer answers. */
  check(): Promise<void>;
  /** Stops pulling, waits for in-flight handlers, then returns. */
  stop(): Promise<void>;
}

const backoffMs = (deliveryCount: number): number =>
  Math.min(10_000, 100 * 2 ** Math.min(deliveryCount, 7));

/**
 * Failures of the infrastructure rather than of the message (the database or the event store is
 * down or restarting): they are retried far longer than MaxDeliver, so that an outage does not
 * dead-letter every message that arrived during it.
 */
export function isInfrastructureError(err: unknown): boolean {
  if (isTransientGrpcError(err)) return true;
  const code =
    typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0[1-3]|08\d{3}|53300|40001|40P01)$/.test(code)
  )
    return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|RetriesExhausted/i.test(
    message,
  );
}

/** Deliveries allowed for an infrastructure failure before the message is dead-lettered. */
const INFRASTRUCTURE_MAX_DELIVER = 1000;

/**
 * The JetStream consumer loop every service uses: a `consume()` inside a re-subscribe loop,
 * explicit ack, `nak(delay)` on transient failure, `term` plus a dead-letter record after
 * MaxDeliver attempts (or at once for a poison message), `working()` while a handler runs long,
 * bounded concurrency, and drain on stop. Handlers must be idempotent: JetStream delivers at
 * least once.
 */
export function startConsumer(opts: ConsumerOptions): RunningConsumer {
  const { nc, jsm, stream, settings, logger, registry } = opts;
  const durable = settings.durable;
  const js = jetstream(nc);
  const known = new Set(opts.eventTypes);
  const label = (t: string | undefined): string => (t && known.has(t) ? t : 'other');
  const ackWaitMs = settings.ackWaitMs ?? 30_000;

  const handled = counter(registry, {
    name: 'orderflow_consumer_messages_total',
    help: 'Messages handled by consumer, event type and outcome (acked, duplicate, ignored, nak, terminated).',
    labelNames: ['consumer', 'event_type', 'outcome'] as const,
  });
  const duration = histogram(registry, {
    name: 'orderflow_consumer_handle_duration_seconds',
    help: 'Time to handle one message, by consumer and event type.',
    labelNames: ['consumer', 'event_type'] as const,
  });
  const redeliveries = counter(registry, {
    name: 'orderflow_consumer_redeliveries_total',
    help: 'Messages delivered more than once.',
    labelNames: ['consumer'] as const,
  });
  const deadLetters = counter(registry, {
    name: 'orderflow_dead_letters_total',
    help: 'Messages terminated and recorded on the dead-letter subject, by reason.',
    labelNames: ['consumer', 'reason'] as const,
  });
  const inFlightGauge = gauge(registry, {
    name: 'orderflow_consumer_in_flight',
    help: 'Messages being handled now.',
    labelNames: ['consumer'] as const,
  });
  gauge(registry, {
    name: 'orderflow_consumer_lag',
    help: 'Consumer lag from JetStream: messages pending plus acknowledgements pending.',
    labelNames: ['consumer'] as const,
  });
  const lagGauge = registry.getSingleMetric('orderflow_consumer_lag');
  const pendingGauge = gauge(registry, {
    name: 'orderflow_consumer_pending_messages',
    help: 'Messages not yet delivered to the consumer.',
    labelNames: ['consumer'] as const,
  });
  const ackPendingGauge = gauge(registry, {
    name: 'orderflow_consumer_ack_pending_messages',
    help: 'Messages delivered and not yet acknowledged.',
    labelNames: ['consumer'] as const,
  });

  let stopped = false;
  let subscribed = false;
  let current: ConsumerMessages | undefined;
  const inFlight = new Set<Promise<void>>();
  let free = opts.concurrency;
  const waiters: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (free > 0) {
      free--;
      return;
    }
    await new Promise<void>((r) => waiters.push(r));
  };
  const release = (): void => {
    const next = waiters.shift();
    if (next) next();
    else free++;
  };

  const deadLetter = async (m: JsMsg, reason: string, kind: string): Promise<void> => {
    const h = natsHeaders();
    h.set('Orderflow-Dead-Reason', reason.slice(0, 1000));
    h.set('Orderflow-Dead-Kind', kind);
    h.set('Orderflow-Original-Subject', m.subject);
    h.set('Orderflow-Original-Sequence', String(m.info.streamSequence));
    h.set('Orderflow-Delivery-Count', String(m.info.deliveryCount));
    h.set('Orderflow-Consumer', durable);
    // Copy the original headers with their own names (not lower-cased), so a re-drive republishes them as they were.
    if (m.headers)
      for (const k of m.headers.keys())
        if (!k.toLowerCase().startsWith('nats-') && !h.has(k))
          for (const v of m.headers.values(k)) h.append(k, v);
    await js.publish(subjects.deadLetter(durable), m.data, {
      msgID: `${durable}:${m.info.streamSequence}`,
      headers: h,
      timeout: 5_000,
    });
    m.term(reason.slice(0, 200));
    deadLetters.inc({ consumer: durable, reason: kind });
    logger.warn(
      { consumer: durable, seq: m.info.streamSequence, kind, reason },
      'message dead-lettered',
    );
  };

  const process1 = async (m: JsMsg): Promise<void> => {
    const deliveryCount = m.info.deliveryCount;
    if (deliveryCount > 1) redeliveries.inc({ consumer: durable });
    const hdrs = headersToRecord(m.headers);
    let eventType = label(hdrs['orderflow-event-type']);
    const end = duration.startTimer({ consumer: durable, event_type: eventType });
    const heartbeat = setInterval(() => m.working(), Math.max(500, ackWaitMs / 3));
    inFlightGauge.inc({ consumer: durable });
    try {
      let outcome: Outcome;
      try {
        const event = decodeEnvelope(m.data);
        eventType = label(event.eventType);
        opts.validate?.(event);
        outcome = await withSpan(
          `${durable} process ${event.eventType}`,
          {
            kind: SpanKind.CONSUMER,
            parent: extractTraceContext({ ...event.metadata, ...hdrs }),
            attributes: {
              'messaging.system': 'nats',
              'messaging.destination.name': m.subject,
              'messaging.consumer.group.name': durable,
              'orderflow.event_type': event.eventType,
              'orderflow.stream_id': event.streamId,
              'orderflow.version': event.version,
              'orderflow.delivery_count': deliveryCount,
            },
          },
          () => opts.handle(event, { deliveryCount }),
        );
      } catch (err: unknown) {
        const reason = err instanceof Error ? err.message : String(err);
        if (err instanceof PoisonMessageError) {
          await deadLetter(m, reason, 'poison');
          handled.inc({ consumer: durable, event_type: eventType, outcome: 'terminated' });
          return;
        }
        const maxDeliver =
          typeof opts.maxDeliver === 'function' ? opts.maxDeliver() : opts.maxDeliver;
        const budget =
          err instanceof RetryLaterError
            ? (err.maxDeliver ?? maxDeliver)
            : isInfrastructureError(err)
              ? Math.max(maxDeliver, INFRASTRUCTURE_MAX_DELIVER)
              : maxDeliver;
        if (deliveryCount >= budget) {
          await deadLetter(m, reason, 'max_deliver');
          handled.inc({ consumer: durable, event_type: eventType, outcome: 'terminated' });
          return;
        }
        const delay = err instanceof RetryLaterError ? err.delayMs : backoffMs(deliveryCount);
        m.nak(delay);
        handled.inc({ consumer: durable, event_type: eventType, outcome: 'nak' });
        if (err instanceof RetryLaterError)
          logger.debug({ consumer: durable, deliveryCount, reason }, 'retry later');
        else
          logger.warn(
            { consumer: durable, deliveryCount, err: reason },
            'handler failed; will retry',
          );
        return;
      }
      m.ack();
      handled.inc({
        consumer: durable,
        event_type: eventType,
        outcome: outcome === 'handled' ? 'acked' : outcome,
      });
    } catch (err: unknown) {
      // Dead-lettering itself failed (NATS unreachable): leave the message to be redelivered.
      logger.error(
        { consumer: durable, err: err instanceof Error ? err.message : String(err) },
        'could not settle message',
      );
      try {
        m.nak(1_000);
      } catch {
        /* connection gone: the server redelivers after ack_wait */
      }
    } finally {
      clearInterval(heartbeat);
      inFlightGauge.dec({ consumer: durable });
      end();
    }
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      try {
        await ensureConsumer(jsm, stream, settings);
        const consumer = await js.consumers.get(stream, durable);
        const messages = await consumer.consume({
          max_messages: Math.max(opts.concurrency * 2, 10),
        });
        current = messages;
        subscribed = true;
        failures = 0;
        logger.info({ consumer: durable, stream }, 'consuming');
        for await (const m of messages) {
          await acquire();
          if (stopped) {
            m.nak();
            release();
            continue;
          }
          const p = process1(m).finally(() => {
            inFlight.delete(p);
            release();
          });
          inFlight.add(p);
        }
      } catch (err: unknown) {
        failures++;
        logger.warn(
          { consumer: durable, err: err instanceof Error ? err.message : String(err) },
          'consume loop failed; resubscribing',
        );
      } finally {
        subscribed = false;
        current = undefined;
      }
      if (!stopped)
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(failures, 5))));
    }
  };
  const running = loop();

  const refreshLag = async (): Promise<void> => {
    const info = await jsm.consumers.info(stream, durable);
    pendingGauge.set({ consumer: durable }, info.num_pending);
    ackPendingGauge.set({ consumer: durable }, info.num_ack_pending);
    (lagGauge as ReturnType<typeof gauge<'consumer'>>).set(
      { consumer: durable },
      info.num_pending + info.num_ack_pending,
    );
  };
  const lagTimer = setInterval(() => void refreshLag().catch(() => undefined), 5_000);
  lagTimer.unref();

  return {
    async check() {
      if (!subscribed) throw new Error(`consumer ${durable} is not subscribed`);
      await refreshLag();
    },
    async stop() {
      stopped = true;
      clearInterval(lagTimer);
      await current?.close().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await running;
    },
  };
}

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
 * The consuming half of every consumer service's composition root: connect to NATS, create the
 * streams when missing, start the durable consumer, and register the `nats` and `consumer`
 * readiness checks.
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
      await nc.drain().catch(() => undefined);
    },
  };
}
