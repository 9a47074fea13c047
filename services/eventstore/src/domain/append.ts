import type { NewEvent, RecordedEvent } from '@orderflow/contracts';
import { ExpectedVersion, StoreError, VersionConflictError, invalidArgument } from './errors';

export type { NewEvent, RecordedEvent } from '@orderflow/contracts';

export interface AppendCommand {
  streamId: string;
  expectedVersion: number;
  events: NewEvent[];
}

export const limits = {
  maxStreamIdLength: 256,
  maxEventTypeLength: 256,
  maxEventsPerAppend: 1000,
  maxDataBytes: 1024 * 1024,
  maxMetadataEntries: 64,
  maxMetadataValueBytes: 8 * 1024,
  maxReadCount: 10_000,
  defaultReadCount: 1000,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// No white space, and no control characters (PostgreSQL text cannot hold NUL).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const STREAM_ID = /^[^\s\u0000-\u001f\u007f]+$/;
const NUL = '\u0000';

function validateEventType(eventType: string, f: string): void {
  if (!eventType) throw invalidArgument(`${f}.event_type`, 'must not be empty');
  if (eventType.length > limits.maxEventTypeLength)
    throw invalidArgument(
      `${f}.event_type`,
      `must be at most ${limits.maxEventTypeLength} characters`,
    );
  if (!/^[A-Za-z0-9_.-]+$/.test(eventType))
    throw invalidArgument(
      `${f}.event_type`,
      'may hold only letters, digits, ".", "_" and "-" (it names a NATS subject)',
    );
}

function validateMetadata(metadata: Record<string, string>, f: string): void {
  const entries = Object.entries(metadata);
  if (entries.length > limits.maxMetadataEntries)
    throw invalidArgument(
      `${f}.metadata`,
      `must hold at most ${limits.maxMetadataEntries} entries`,
    );
  for (const [k, v] of entries) {
    if (Buffer.byteLength(v, 'utf8') > limits.maxMetadataValueBytes)
      throw invalidArgument(`${f}.metadata.${k}`, 'must be at most 8 KiB');
    if (k.includes(NUL) || v.includes(NUL))
      throw invalidArgument(`${f}.metadata`, 'keys and values must not contain NUL characters');
  }
}

/** One event of an append (`f` names it: `events[2]`); `seen` holds the ids before it. */
function validateEvent(e: NewEvent, f: string, seen: Set<string>): void {
  if (!UUID.test(e.eventId)) throw invalidArgument(`${f}.event_id`, 'must be a UUID');
  const id = e.eventId.toLowerCase();
  if (seen.has(id)) throw invalidArgument(`${f}.event_id`, 'appears twice in one append');
  seen.add(id);
  validateEventType(e.eventType, f);
  if (Buffer.byteLength(e.data, 'utf8') > limits.maxDataBytes)
    throw invalidArgument(`${f}.data`, 'must be at most 1 MiB');
  try {
    JSON.parse(e.data);
  } catch {
    throw invalidArgument(`${f}.data`, 'must be a JSON document');
  }
  validateMetadata(e.metadata, f);
}

/**
 * Checks an append request before any I/O. Every problem names the field (`events[2].data`).
 * Pure: no database, no clock.
 */
export function validateAppend(cmd: AppendCommand): AppendCommand {
  if (!cmd.streamId) throw invalidArgument('stream_id', 'must not be empty');
  if (cmd.streamId.length > limits.maxStreamIdLength)
    throw invalidArgument('stream_id', `must be at most ${limits.maxStreamIdLength} characters`);
  if (!STREAM_ID.test(cmd.streamId))
    throw invalidArgument('stream_id', 'must not contain white space or control characters');
  if (!Number.isSafeInteger(cmd.expectedVersion) || cmd.expectedVersion < ExpectedVersion.Any)
    throw invalidArgument('expected_version', 'must be -1 (no stream), -2 (any) or a version >= 0');
  if (cmd.events.length === 0) throw invalidArgument('events', 'must hold at least one event');
  if (cmd.events.length > limits.maxEventsPerAppend)
    throw invalidArgument('events', `must hold at most ${limits.maxEventsPerAppend} events`);
  const seen = new Set<string>();
  cmd.events.forEach((e, i) => validateEvent(e, `events[${i}]`, seen));
  return { ...cmd, events: cmd.events.map((e) => ({ ...e, eventId: e.eventId.toLowerCase() })) };
}

/** The conflict of an append expecting `expected` at the stream's current version (-1: no stream), if any. */
export function versionConflictOf(
  streamId: string,
  expected: number,
  current: number,
): VersionConflictError | undefined {
  if (expected === ExpectedVersion.Any || expected === current) return undefined;
  return new VersionConflictError(streamId, expected, current);
}

/** Throws the VersionConflictError of an append that may not go ahead. */
export function checkExpectedVersion(streamId: string, expected: number, current: number): void {
  const conflict = versionConflictOf(streamId, expected, current);
  if (conflict) throw conflict;
}

export function validateRead(
  streamId: string,
  fromVersion: number,
  maxCount: number,
): { fromVersion: number; maxCount: number } {
  if (!streamId) throw invalidArgument('stream_id', 'must not be empty');
  if (streamId.length > limits.maxStreamIdLength)
    throw invalidArgument('stream_id', `must be at most ${limits.maxStreamIdLength} characters`);
  if (!STREAM_ID.test(streamId))
    throw invalidArgument('stream_id', 'must not contain white space or control characters');
  if (!Number.isSafeInteger(fromVersion) || fromVersion < 0)
    throw invalidArgument('from_version', 'must be >= 0');
  if (!Number.isInteger(maxCount) || maxCount < 0 || maxCount > limits.maxReadCount)
    throw invalidArgument(
      'max_count',
      `must be between 0 (default ${limits.defaultReadCount}) and ${limits.maxReadCount}`,
    );
  return { fromVersion, maxCount: maxCount === 0 ? limits.defaultReadCount : maxCount };
}

/** An event id the store holds already, with where it stands. */
export interface ExistingEvent {
  event_id: string;
  stream_id: string;
  version: number;
}

export type AppendDecision =
  /** Every event was written before, together, to this stream: answer as then, write nothing. */
  | { kind: 'duplicate'; nextExpectedVersion: number }
  | { kind: 'reject'; error: StoreError }
  /** Write the events at versions `first`..`last`; `newStream` when the stream has no head yet. */
  | { kind: 'write'; first: number; last: number; newStream: boolean };

const eventIdConflict = (first: ExistingEvent): StoreError =>
  new StoreError(
    'event-id-conflict',
    `event_id ${first.event_id} already exists in stream ${first.stream_id} at version ${first.version}; ` +
      'an append is idempotent only when all of its event ids were written together before',
  );

/**
 * The one rule of an append (DESIGN §3), pure: given the stream's head (undefined: no stream) and
 * the append's event ids the store holds already, a duplicate answers the original result, a
 * reused id or a wrong expected version is refused, anything else is written after the head.
 * Every write path of the store decides through it.
 */
export function decideAppend(
  cmd: AppendCommand,
  head: number | undefined,
  existing: readonly ExistingEvent[],
): AppendDecision {
  if (existing.length > 0) {
    const all = existing.length === cmd.events.length;
    if (all && existing.every((r) => r.stream_id === cmd.streamId))
      return {
        kind: 'duplicate',
        nextExpectedVersion: Math.max(...existing.map((r) => r.version)),
      };
    return { kind: 'reject', error: eventIdConflict(existing[0]!) };
  }
  const current = head ?? -1;
  const conflict = versionConflictOf(cmd.streamId, cmd.expectedVersion, current);
  if (conflict) return { kind: 'reject', error: conflict };
  const first = current + 1;
  return { kind: 'write', first, last: current + cmd.events.length, newStream: head === undefined };
}

/** The events of an append as stored from version `first`, committed at `createdAt`. */
export const recordEvents = (
  cmd: AppendCommand,
  first: number,
  createdAt: string,
): RecordedEvent[] =>
  cmd.events.map((e, i) => ({ ...e, streamId: cmd.streamId, version: first + i, createdAt }));
