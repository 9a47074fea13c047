import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { decodeEnvelope, headersToRecord, type Envelope } from '../envelope';
import { SpanKind, extractTraceContext, withSpan } from '../tracing';
import { deadLetter } from './dead-letter';
import type { ConsumerMetrics } from './metrics';
import { settle, type HandlerResult, type MessageOutcome, type SettlePolicy } from './settle';

/** A message handler: idempotent, since JetStream delivers at least once. */
export type Handle = (event: Envelope, ctx: { deliveryCount: number }) => Promise<MessageOutcome>;

export interface MessageContext {
  durable: string;
  js: JetStreamClient;
  ackWaitMs: number;
  handle: Handle;
  /** Checks the envelope against the event catalogue; throws PoisonMessageError when it cannot be handled. */
  validate: ((event: Envelope) => void) | undefined;
  /** The policy in force for this message (read per message: the runtime config may change it). */
  policy: () => SettlePolicy;
  /** The bounded event-type label of a type (`other` for unknown ones). */
  label: (eventType: string | undefined) => string;
  metrics: ConsumerMetrics;
  logger: Logger;
}

/** Decodes, validates and handles one message inside a CONSUMER span that continues its trace. */
async function run(
  m: JsMsg,
  ctx: MessageContext,
  hdrs: Record<string, string>,
  decoded: { eventType?: string },
): Promise<HandlerResult> {
  try {
    const event = decodeEnvelope(m.data);
    decoded.eventType = event.eventType;
    ctx.validate?.(event);
    const outcome = await withSpan(
      `${ctx.durable} process ${event.eventType}`,
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext({ ...event.metadata, ...hdrs }),
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': m.subject,
          'messaging.consumer.group.name': ctx.durable,
          'orderflow.event_type': event.eventType,
          'orderflow.stream_id': event.streamId,
          'orderflow.version': event.version,
          'orderflow.delivery_count': m.info.deliveryCount,
        },
      },
      () => ctx.handle(event, { deliveryCount: m.info.deliveryCount }),
    );
    return { ok: true, outcome };
  } catch (error: unknown) {
    return { ok: false, error };
  }
}

/** Carries out what `settle` decided, and counts it. */
async function apply(m: JsMsg, ctx: MessageContext, result: HandlerResult, eventType: string) {
  const { durable, metrics, logger } = ctx;
  const deliveryCount = m.info.deliveryCount;
  const s = settle(result, deliveryCount, ctx.policy());
  const count = (outcome: string) =>
    metrics.handled.inc({ consumer: durable, event_type: eventType, outcome });
  switch (s.action) {
    case 'ack':
      m.ack();
      return count(s.outcome === 'handled' ? 'acked' : s.outcome);
    case 'nak':
      m.nak(s.delayMs);
      count('nak');
      if (s.expected)
        logger.debug({ consumer: durable, deliveryCount, reason: s.reason }, 'retry later');
      else
        logger.warn(
          { consumer: durable, deliveryCount, err: s.reason },
          'handler failed; will retry',
        );
      return;
    case 'deadLetter':
      await deadLetter(ctx.js, m, durable, s.kind, s.reason);
      metrics.deadLetters.inc({ consumer: durable, reason: s.kind });
      logger.warn(
        { consumer: durable, seq: m.info.streamSequence, kind: s.kind, reason: s.reason },
        'message dead-lettered',
      );
      return count('terminated');
    default: {
      const never: never = s;
      throw new Error(`unknown settlement ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Handles one delivery: `working()` heartbeats while the handler runs, then `settle` decides
 * ack, nak or dead letter. If settling itself fails (NATS unreachable), the message is nak'ed
 * and comes back.
 */
export async function processMessage(m: JsMsg, ctx: MessageContext): Promise<void> {
  const { durable, metrics } = ctx;
  if (m.info.deliveryCount > 1) metrics.redeliveries.inc({ consumer: durable });
  const hdrs = headersToRecord(m.headers);
  const heartbeat = setInterval(() => m.working(), Math.max(500, ctx.ackWaitMs / 3));
  metrics.inFlight.inc({ consumer: durable });
  const fromHeader = ctx.label(hdrs['orderflow-event-type']);
  const end = metrics.duration.startTimer({ consumer: durable, event_type: fromHeader });
  try {
    // The event type label: the envelope's when it decodes, else the header's.
    const decoded: { eventType?: string } = {};
    const result = await run(m, ctx, hdrs, decoded);
    await apply(m, ctx, result, decoded.eventType ? ctx.label(decoded.eventType) : fromHeader);
  } catch (err: unknown) {
    ctx.logger.error(
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
    metrics.inFlight.dec({ consumer: durable });
    end();
  }
}
