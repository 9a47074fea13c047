import {
  jetstream,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Envelope } from '../envelope';
import { ensureConsumer, type ConsumerSettings } from '../nats';
import { consumerMetrics, type ConsumerMetrics } from './metrics';
import { processMessage, type Handle, type MessageContext } from './process-message';
import { defaultInfrastructureMaxDeliver } from './settle';
import { Slots } from './slots';

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
  handle: Handle;
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

function messageContext(opts: ConsumerOptions, metrics: ConsumerMetrics): MessageContext {
  const known = new Set(opts.eventTypes);
  const maxDeliver = opts.maxDeliver;
  return {
    durable: opts.settings.durable,
    js: jetstream(opts.nc),
    ackWaitMs: opts.settings.ackWaitMs ?? 30_000,
    handle: opts.handle,
    validate: opts.validate,
    policy: () => ({
      maxDeliver: typeof maxDeliver === 'function' ? maxDeliver() : maxDeliver,
      infrastructureMaxDeliver: defaultInfrastructureMaxDeliver,
    }),
    label: (t) => (t && known.has(t) ? t : 'other'),
    metrics,
    logger: opts.logger,
  };
}

/** The consume loop's state: what is in flight, and the subscription stop() closes. */
class Subscription {
  stopped = false;
  subscribed = false;
  current: ConsumerMessages | undefined;
  readonly inFlight = new Set<Promise<void>>();
}

async function consumeOnce(
  opts: ConsumerOptions,
  ctx: MessageContext,
  sub: Subscription,
  slots: Slots,
  onSubscribed: () => void,
) {
  await ensureConsumer(opts.jsm, opts.stream, opts.settings);
  const consumer = await ctx.js.consumers.get(opts.stream, ctx.durable);
  const messages = await consumer.consume({ max_messages: Math.max(opts.concurrency * 2, 10) });
  sub.current = messages;
  sub.subscribed = true;
  onSubscribed();
  opts.logger.info({ consumer: ctx.durable, stream: opts.stream }, 'consuming');
  for await (const m of messages) await dispatch(m, ctx, sub, slots);
}

async function dispatch(m: JsMsg, ctx: MessageContext, sub: Subscription, slots: Slots) {
  await slots.acquire();
  if (sub.stopped) {
    m.nak();
    slots.release();
    return;
  }
  const p = processMessage(m, ctx).finally(() => {
    sub.inFlight.delete(p);
    slots.release();
  });
  sub.inFlight.add(p);
}

/** A `consume()` inside a re-subscribe loop, with backoff after a failure. */
async function loop(opts: ConsumerOptions, ctx: MessageContext, sub: Subscription): Promise<void> {
  const slots = new Slots(opts.concurrency);
  let failures = 0;
  while (!sub.stopped) {
    try {
      await consumeOnce(opts, ctx, sub, slots, () => (failures = 0));
    } catch (err: unknown) {
      failures++;
      opts.logger.warn(
        { consumer: ctx.durable, err: err instanceof Error ? err.message : String(err) },
        'consume loop failed; resubscribing',
      );
    } finally {
      sub.subscribed = false;
      sub.current = undefined;
    }
    if (!sub.stopped)
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(failures, 5))));
  }
}

/**
 * The JetStream consumer loop every service uses (STYLE.md habit 8): a `consume()` inside a
 * re-subscribe loop, explicit ack, `nak(delay)` on transient failure, `term` plus a dead-letter
 * record after MaxDeliver attempts (or at once for a poison message), `working()` while a handler
 * runs long, bounded concurrency, and drain on stop. The ack policy itself is `settle`.
 */
export function startConsumer(opts: ConsumerOptions): RunningConsumer {
  const metrics = consumerMetrics(opts.registry);
  const ctx = messageContext(opts, metrics);
  const sub = new Subscription();
  const running = loop(opts, ctx, sub);
  const durable = ctx.durable;
  const refreshLag = async (): Promise<void> => {
    const info = await opts.jsm.consumers.info(opts.stream, durable);
    metrics.pending.set({ consumer: durable }, info.num_pending);
    metrics.ackPending.set({ consumer: durable }, info.num_ack_pending);
    metrics.lag.set({ consumer: durable }, info.num_pending + info.num_ack_pending);
  };
  const lagTimer = setInterval(() => void refreshLag().catch(() => undefined), 5_000);
  lagTimer.unref();
  return {
    async check() {
      if (!sub.subscribed) throw new Error(`consumer ${durable} is not subscribed`);
      await refreshLag();
    },
    async stop() {
      sub.stopped = true;
      clearInterval(lagTimer);
      await sub.current?.close().catch(() => undefined);
      await Promise.allSettled([...sub.inFlight]);
      await running;
    },
  };
}
