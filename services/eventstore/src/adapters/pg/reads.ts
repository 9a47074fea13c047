import { EVENT_COLUMNS, recordedEventOfRow, type EventRow } from '@orderflow/contracts';
import type { Pool } from 'pg';
import { validateRead, type RecordedEvent } from '../../domain/append';
import { invalidArgument } from '../../domain/errors';
import type { ReadResult } from './types';

export async function readStream(
  pool: Pool,
  streamId: string,
  fromVersion: number,
  maxCount: number,
): Promise<ReadResult> {
  const q = validateRead(streamId, fromVersion, maxCount);
  // One statement (one round trip, one snapshot): the head, and the page of events beside it.
  const r = await pool.query<{ last_version: number | null } & Partial<EventRow>>({
    name: 'eventstore-read-stream',
    text: `SELECT s.version AS last_version, e.event_id, e.stream_id, e.version, e.event_type, e.data, e.metadata, e.created_at
           FROM (SELECT $1::TEXT AS stream_id) q
           LEFT JOIN streams s ON s.stream_id = q.stream_id
           LEFT JOIN LATERAL (
             SELECT * FROM events WHERE stream_id = q.stream_id AND version >= $2 ORDER BY version LIMIT $3
           ) e ON true
           ORDER BY e.version`,
    values: [streamId, q.fromVersion, q.maxCount],
  });
  const events = r.rows
    .filter((row): row is EventRow & { last_version: number } => row.event_id != null)
    .map(recordedEventOfRow);
  return { events, lastVersion: r.rows[0]?.last_version ?? -1 };
}

/** A position ReadAll returned: the last event's commit time (as printed) and id. */
function positionOf(after: string): { ts: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
      return { ts: parsed[0], id: parsed[1] };
  } catch {
    /* reported below */
  }
  throw invalidArgument('after', 'is not a position returned by ReadAll');
}

/**
 * Pages through every event by commit timestamp, for rebuilding projections. Not a live tail:
 * ordering is guaranteed per stream (by version), not globally (DESIGN §3).
 */
export async function readAll(
  pool: Pool,
  after: string,
  maxCount: number,
): Promise<{ events: RecordedEvent[]; next: string }> {
  const count = maxCount === 0 ? 1000 : maxCount;
  if (count < 0 || count > 10_000)
    throw invalidArgument('max_count', 'must be between 0 and 10000');
  const cursor = after ? positionOf(after) : undefined;
  const rows = await pool.query<EventRow & { ts: string }>(
    `SELECT ${EVENT_COLUMNS}, created_at::TEXT AS ts
     FROM events
     WHERE $1::TEXT IS NULL OR (created_at, event_id) > ($1::TIMESTAMPTZ, $2::UUID)
     ORDER BY created_at, event_id LIMIT $3`,
    [cursor?.ts ?? null, cursor?.id ?? null, count],
  );
  const lastRow = rows.rows[rows.rows.length - 1];
  const next =
    rows.rows.length === count && lastRow
      ? Buffer.from(JSON.stringify([lastRow.ts, lastRow.event_id])).toString('base64url')
      : '';
  return { events: rows.rows.map(recordedEventOfRow), next };
}
