import { SCHEMA_VERSION, metadataKeys, orderIdFromStream } from '@orderflow/events';
import type { Envelope } from '../envelope';
import { injectTraceContext } from '../tracing';

/** Why an event is appended: the flow it belongs to and, when there is one, what caused it. */
export interface Cause {
  correlationId: string;
  causationId?: string | undefined;
}

/** The cause an envelope gives what is appended because of it (docs/flow.md). */
export const causeOf = (e: Envelope): Cause => ({
  correlationId:
    e.metadata[metadataKeys.correlationId] ?? orderIdFromStream(e.streamId) ?? e.streamId,
  causationId: e.eventId,
});

/**
 * The metadata of every event a service appends, built here and nowhere else: correlation and
 * causation ids, schema version, producer, and the current trace context (call it inside the
 * span of the work that appends).
 */
export function eventMetadata(cause: Cause, producer: string): Record<string, string> {
  return injectTraceContext({
    [metadataKeys.correlationId]: cause.correlationId,
    ...(cause.causationId ? { [metadataKeys.causationId]: cause.causationId } : {}),
    [metadataKeys.schemaVersion]: SCHEMA_VERSION,
    [metadataKeys.producer]: producer,
  });
}
