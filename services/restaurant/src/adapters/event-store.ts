import {
  SCHEMA_VERSION,
  metadataKeys,
  orderIdFromStream,
  type OrderEvent,
} from '@orderflow/events';
import { injectTraceContext, type Envelope } from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';

export const PRODUCER = 'restaurant';

/**
 * Metadata of an event appended because of `cause` (docs/flow.md): the correlation id carries on,
 * the causation id is the cause's event id, and the current trace context rides along. Called inside
 * the consumer's span.
 */
export function metadataCausedBy(cause: Envelope): Record<string, string> {
  return injectTraceContext({
    [metadataKeys.correlationId]:
      cause.metadata[metadataKeys.correlationId] ??
      orderIdFromStream(cause.streamId) ??
      cause.streamId,
    [metadataKeys.causationId]: cause.eventId,
    [metadataKeys.schemaVersion]: SCHEMA_VERSION,
    [metadataKeys.producer]: PRODUCER,
  });
}

/** Appends one event; a redelivery re-appends the same deterministic id and the store answers duplicate. */
export async function appendOne(
  client: EventStoreClient,
  streamId: string,
  expectedVersion: number,
  eventId: string,
  event: OrderEvent,
  metadata: Record<string, string>,
): Promise<{ duplicate: boolean; nextExpectedVersion: number }> {
  const r = await client.appendToStream({
    streamId,
    expectedVersion,
    events: [{ eventId, eventType: event.type, data: JSON.stringify(event.data), metadata }],
  });
  return { duplicate: r.duplicate, nextExpectedVersion: r.nextExpectedVersion };
}
