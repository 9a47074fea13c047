import type { MsgHdrs } from '@nats-io/transport-node';

/** What travels on the bus for one stored event (docs/conventions.md). */
export interface Envelope {
  eventId: string;
  eventType: string;
  streamId: string;
  version: number;
  data: unknown;
  metadata: Record<string, string>;
  createdAt: string;
}

/** A message that can never be handled (does not parse, unknown type or schema version): dead-letter it now. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** A transient condition (a version gap, a dependency down): try again after `delayMs`. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    readonly delayMs = 500,
    /** Deliveries allowed before the message is dead-lettered; defaults to the consumer's MaxDeliver. */
    readonly maxDeliver?: number,
  ) {
    super(message);
  }
}

/**
 * Encodes an envelope without parsing the event data again: `data` is already a JSON text checked
 * by the event store, so it is spliced in as it is (this runs once per published event).
 */
export function encodeEnvelope(e: Omit<Envelope, 'data'> & { data: string }): Uint8Array {
  const head = JSON.stringify({
    eventId: e.eventId,
    eventType: e.eventType,
    streamId: e.streamId,
    version: e.version,
    metadata: e.metadata,
    createdAt: e.createdAt,
  });
  return Buffer.from(`${head.slice(0, -1)},"data":${e.data}}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty string member of the envelope, or the poison it makes. */
function required(raw: Record<string, unknown>, key: 'eventId' | 'eventType' | 'streamId'): string {
  const v = raw[key];
  if (typeof v !== 'string' || !v) throw new PoisonMessageError(`envelope.${key} is missing`);
  return v;
}

/** The string entries of the metadata (anything else is dropped). */
function stringsOf(metadata: unknown): Record<string, string> {
  const meta: Record<string, string> = {};
  if (isRecord(metadata))
    for (const [k, v] of Object.entries(metadata)) if (typeof v === 'string') meta[k] = v;
  return meta;
}

/** Decodes and shape-checks an envelope; anything malformed is a PoisonMessageError. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new PoisonMessageError('message body is not JSON');
  }
  if (!isRecord(raw)) throw new PoisonMessageError('message body is not a JSON object');
  const { version, data, metadata, createdAt } = raw;
  const eventId = required(raw, 'eventId');
  const eventType = required(raw, 'eventType');
  const streamId = required(raw, 'streamId');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0)
    throw new PoisonMessageError('envelope.version is not a non-negative integer');
  if (!isRecord(data)) throw new PoisonMessageError('envelope.data is not a JSON object');
  return {
    eventId,
    eventType,
    streamId,
    version,
    data,
    metadata: stringsOf(metadata),
    createdAt: typeof createdAt === 'string' ? createdAt : '',
  };
}

/** Headers as a plain map (for trace context extraction). */
export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const k of h.keys()) out[k.toLowerCase()] = h.get(k);
  return out;
}
