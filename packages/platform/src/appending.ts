import {
  InvalidEventError,
  SCHEMA_VERSION,
  metadataKeys,
  orderIdFromStream,
  parseEvent,
} from '@orderflow/events';
import type { EventStoreClient } from '@orderflow/proto';
import { PoisonMessageError, type Envelope } from './envelope';
import { injectTraceContext } from './tracing';

/**
 * Metadata of an event appended because of `cause` (docs/flow.md): the correlation id carries on,
 * the causation id is the cause's event id, and the current trace context rides along. Call it
 * inside the consumer's span.
 */
export function metadataCausedBy(cause: Envelope, producer: string): Record<string, string> {
  return injectTraceContext({
    [metadataKeys.correlationId]:
      cause.metadata[metadataKeys.correlationId] ??
      orderIdFromStream(cause.streamId) ??
      cause.streamId,
    [metadataKeys.causationId]: cause.eventId,
    [metadataKeys.schemaVersion]: SCHEMA_VERSION,
    [metadataKeys.producer]: producer,
  });
}

/** Appends one event; a redelivery re-appends the same deterministic id and the store answers duplicate. */
export async function appendOne(
  client: EventStoreClient,
  streamId: string,
  expectedVersion: number,
  eventId: string,
  event: { type: string; data: unknown },
  metadata: Record<string, string>,
): Promise<{ duplicate: boolean; nextExpectedVersion: number }> {
  const r = await client.appendToStream({
    streamId,
    expectedVersion,
    events: [{ eventId, eventType: event.type, data: JSON.stringify(event.data), metadata }],
  });
  return { duplicate: r.duplicate, nextExpectedVersion: r.nextExpectedVersion };
}

/** The catalogue check of every message: one the catalogue rejects can never be handled (dead-letter it). */
export function validateOrderEnvelope(e: Envelope): void {
  try {
    parseEvent(e.eventType, e.data, e.metadata);
  } catch (err: unknown) {
    if (err instanceof InvalidEventError) throw new PoisonMessageError(err.message);
    throw err;
  }
}
