import { jetstream, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { deadLetterHeaders, eventHeaders } from '@orderflow/contracts';
import { decodeEnvelope, isNotFound, subjects } from '@orderflow/platform';

/** One message of the dead-letter stream, as `startConsumer` recorded it. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream (what `redrive` takes). */
  seq: number;
  consumer: string;
  originalSubject: string;
  originalSequence: number | undefined;
  reason: string;
  /** `poison` (could never be handled) or `max_deliver` (failed every attempt). */
  kind: string;
  deliveryCount: number | undefined;
  time: string;
  /** From the envelope, when the body parses. */
  eventType: string | undefined;
  eventId: string | undefined;
  streamId: string | undefined;
}

/** Headers `startConsumer` adds to a dead letter; a re-drive strips them. */
const deadLetterHeaderNames = Object.values(deadLetterHeaders).map((h) => h.toLowerCase());

/** Header look-up regardless of case (the consumer copies original headers lower-cased). */
function header(h: MsgHdrs | undefined, name: string): string | undefined {
  if (!h) return undefined;
  const lower = name.toLowerCase();
  for (const k of h.keys()) if (k.toLowerCase() === lower) return h.get(k);
  return undefined;
}

const toInt = (v: string | undefined): number | undefined => {
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
};

export function describe(m: StoredMsg): DeadLetter {
  let envelope: { eventType?: string; eventId?: string; streamId?: string } = {};
  try {
    envelope = decodeEnvelope(m.data);
  } catch {
    /* the body is what made it poison: list it without event details */
  }
  const consumerFromSubject = m.subject.startsWith(subjects.deadLetterPrefix)
    ? m.subject.slice(subjects.deadLetterPrefix.length)
    : m.subject;
  return {
    seq: m.seq,
    consumer: header(m.header, deadLetterHeaders.consumer) ?? consumerFromSubject,
    originalSubject: header(m.header, deadLetterHeaders.originalSubject) ?? '',
    originalSequence: toInt(header(m.header, deadLetterHeaders.originalSequence)),
    reason: header(m.header, deadLetterHeaders.reason) ?? '',
    kind: header(m.header, deadLetterHeaders.kind) ?? '',
    deliveryCount: toInt(header(m.header, deadLetterHeaders.deliveryCount)),
    time: m.time.toISOString(),
    eventType: envelope.eventType ?? header(m.header, eventHeaders.eventType),
    eventId: envelope.eventId,
    streamId: envelope.streamId ?? header(m.header, eventHeaders.streamId),
  };
}

/** The dead-letter stream of an order stream (`ORDERS` → `ORDERS_DLQ`), or a DLQ stream named as such. */
export const dlqStreamName = (stream: string): string =>
  stream.endsWith('_DLQ') ? stream : subjects.deadLetterStream(stream);

/** Every dead letter in the stream (oldest first), optionally of one consumer. */
export async function listDeadLetters(
  jsm: JetStreamManager,
  dlqStream: string,
  opts: { consumer?: string } = {},
): Promise<DeadLetter[]> {
  const info = await jsm.streams.info(dlqStream);
  const out: DeadLetter[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    let m: StoredMsg | null;
    try {
      m = await jsm.streams.getMessage(dlqStream, { seq });
    } catch (err: unknown) {
      if (isNotFound(err)) continue; // deleted (re-driven) or interior gap
      throw err;
    }
    if (!m) continue;
    if (opts.consumer && m.subject !== subjects.deadLetter(opts.consumer)) continue;
    out.push(describe(m));
  }
  return out;
}

export class DeadLetterNotFound extends Error {
  override name = 'DeadLetterNotFound';
}

/**
 * Publishes a dead letter's original body and headers to its original subject again, with a fresh
 * `Nats-Msg-Id` (`redrive:<event id or original sequence>:<dlq sequence>`) so JetStream's duplicate
 * window does not swallow it, then deletes it from the dead-letter stream. Every consumer on that
 * subject sees it again; they are idempotent.
 */
export async function redrive(
  nc: NatsConnection,
  jsm: JetStreamManager,
  dlqStream: string,
  seq: number,
): Promise<{ subject: string; msgId: string; streamSequence: number }> {
  let m: StoredMsg | null;
  try {
    m = await jsm.streams.getMessage(dlqStream, { seq });
  } catch (err: unknown) {
    if (isNotFound(err)) throw new DeadLetterNotFound(`no dead letter ${seq} in ${dlqStream}`);
    throw err;
  }
  if (!m) throw new DeadLetterNotFound(`no dead letter ${seq} in ${dlqStream}`);
  const dl = describe(m);
  if (!dl.originalSubject)
    throw new Error(`dead letter ${seq} has no Orderflow-Original-Subject header`);
  const h = natsHeaders();
  if (m.header)
    for (const k of m.header.keys()) {
      const lower = k.toLowerCase();
      if (lower.startsWith('nats-') || deadLetterHeaderNames.includes(lower)) continue;
      for (const v of m.header.values(k)) h.append(k, v);
    }
  const msgId = `redrive:${dl.eventId ?? dl.originalSequence ?? 'unknown'}:${seq}`;
  const ack = await jetstream(nc).publish(dl.originalSubject, m.data, {
    msgID: msgId,
    headers: h,
    timeout: 5_000,
  });
  await jsm.streams.deleteMessage(dlqStream, seq, false);
  return { subject: dl.originalSubject, msgId, streamSequence: ack.seq };
}
