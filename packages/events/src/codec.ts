import { v5 as uuidv5 } from 'uuid';
import {
  eventSchemas,
  isEventType,
  metadataKeys,
  supportedSchemaVersions,
  type OrderEvent,
} from './catalogue';

/** Why an event cannot be decoded: consumers dead-letter these. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/**
 * Checks an event's type, schema version and payload against the catalogue. Unknown type,
 * unsupported schema version or a payload that does not match throw InvalidEventError.
 */
export function parseEvent(
  eventType: string,
  data: unknown,
  metadata: Record<string, string> = {},
): OrderEvent {
  if (!isEventType(eventType)) throw new InvalidEventError(`unknown event type "${eventType}"`);
  const version = metadata[metadataKeys.schemaVersion] ?? '1';
  if (!supportedSchemaVersions.has(version))
    throw new InvalidEventError(`unsupported schema version "${version}" of ${eventType}`);
  const parsed = eventSchemas[eventType].safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(
      `${eventType}: data.${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return { type: eventType, data: parsed.data } as OrderEvent;
}

/** Parses an event's JSON text (as stored) against the catalogue. */
export function parseStoredEvent(
  eventType: string,
  json: string,
  metadata: Record<string, string> = {},
): OrderEvent {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new InvalidEventError(`${eventType}: data is not JSON`);
  }
  return parseEvent(eventType, data, metadata);
}

const NAMESPACE = '6f1c4c3e-3b9f-4c59-9d0e-6a2f4f0b7a10';

/**
 * A deterministic event id: the same decision about the same order always gets the same id, so
 * a retried or redelivered append is a no-op at the event store (idempotent by event id).
 */
export const deterministicEventId = (...parts: string[]): string =>
  uuidv5(parts.join('|'), NAMESPACE);
