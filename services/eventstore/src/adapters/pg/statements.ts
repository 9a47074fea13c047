import type { Pool, PoolClient } from 'pg';
import type { AppendCommand, NewEvent } from '../../domain/append';

/** One event to write: event id, stream id, version, event type, data, metadata. */
type EventRowInput = [string, string, number, string, string, Record<string, string>];

export interface Writes {
  newStreams: string[];
  newVersions: number[];
  movedStreams: string[];
  movedVersions: number[];
  events: EventRowInput[];
}

export const emptyWrites = (): Writes => ({
  newStreams: [],
  newVersions: [],
  movedStreams: [],
  movedVersions: [],
  events: [],
});

export function addEvent(w: Writes, streamId: string, version: number, e: NewEvent): void {
  w.events.push([e.eventId, streamId, version, e.eventType, e.data, e.metadata]);
}

/**
 * The events of a group as one JSONB parameter (an array of `[id, stream, version, type, data,
 * metadata]`), unpacked by `jsonb_array_elements`: `JSON.stringify` escapes it natively, where six
 * array parameters had `pg` build and escape an array literal element by element (6 % of the
 * event store's CPU in a profile). Both PostgreSQL and CockroachDB have `jsonb_array_elements`.
 */
export const EVENTS_FROM_JSON = `SELECT (e->>0)::UUID AS id, e->>1 AS stream, (e->>2)::INT8 AS version,
                                 e->>3 AS type, e->>4 AS data, e->5 AS meta
                            FROM jsonb_array_elements($1::JSONB) AS e`;

/**
 * Every write of a group in one statement (one round trip): new stream heads, moved heads, the
 * events and their outbox rows. A named statement, so PostgreSQL plans it once per connection.
 * Returns the commit timestamp the events got.
 */
export async function writeAll(c: Pool | PoolClient, w: Writes): Promise<string> {
  // Heads that move get their own statement: CockroachDB refuses two modifications of one table
  // (the INSERT of new heads and this UPDATE) in one statement. Only the checked path has any.
  if (w.movedStreams.length > 0)
    await c.query({
      name: 'eventstore-move-heads',
      text: `UPDATE streams s SET version = u.version
             FROM unnest($1::TEXT[], $2::INT8[]) AS u(stream_id, version) WHERE s.stream_id = u.stream_id`,
      values: [w.movedStreams, w.movedVersions],
    });
  const r = await c.query<{ created_at: Date | null }>({
    name: 'eventstore-write-group',
    text: `WITH input AS (${EVENTS_FROM_JSON}), new_streams AS (
         INSERT INTO streams (stream_id, version) SELECT * FROM unnest($2::TEXT[], $3::INT8[])
       ), queued AS (
         INSERT INTO outbox (event_id) SELECT id FROM input
       ), ins AS (
         INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
         SELECT id, stream, version, type, data, meta FROM input
         RETURNING created_at
       )
       SELECT (SELECT created_at FROM ins LIMIT 1) AS created_at`,
    values: [JSON.stringify(w.events), w.newStreams, w.newVersions],
  });
  return (r.rows[0]?.created_at ?? new Date()).toISOString();
}

/** The new streams of a group (expected version -1) in one statement; returns the commit time. */
export function createStreams(pool: Pool, cmds: readonly AppendCommand[]): Promise<string> {
  const w = emptyWrites();
  for (const cmd of cmds) {
    w.newStreams.push(cmd.streamId);
    w.newVersions.push(cmd.events.length - 1);
    cmd.events.forEach((e, i) => addEvent(w, cmd.streamId, i, e));
  }
  return writeAll(pool, w);
}

export interface MovedHead {
  stream_id: string;
  last: number;
  created_at: Date | null;
}

/**
 * Moves every head of the group that is where its append expects it (anywhere, for any) and
 * writes the events and outbox rows of those appends, numbered on from the head it moved: one
 * statement, its own transaction. Returns the heads it moved; the others did not move.
 */
export async function moveHeads(pool: Pool, cmds: readonly AppendCommand[]): Promise<MovedHead[]> {
  const input = { streams: [] as string[], expected: [] as number[], counts: [] as number[] };
  const w = emptyWrites();
  for (const cmd of cmds) {
    input.streams.push(cmd.streamId);
    input.expected.push(cmd.expectedVersion);
    input.counts.push(cmd.events.length);
    // Versions here are positions in the append (0, 1, ...); the statement adds the old head.
    cmd.events.forEach((e, i) => addEvent(w, cmd.streamId, i, e));
  }
  const r = await pool.query<MovedHead>({
    name: 'eventstore-move-group',
    text: `WITH u AS (${EVENTS_FROM_JSON}), input AS (
         SELECT * FROM unnest($2::TEXT[], $3::INT8[], $4::INT8[]) AS i(stream_id, expected, n)
       ), moved AS (
         UPDATE streams s SET version = s.version + i.n
         FROM input i
         WHERE s.stream_id = i.stream_id AND (i.expected = -2 OR s.version = i.expected)
         RETURNING s.stream_id, s.version AS last
       ), ev AS (
         SELECT u.id, u.stream, m.last - i.n + 1 + u.version AS version, u.type, u.data, u.meta
         FROM u
         JOIN moved m ON m.stream_id = u.stream
         JOIN input i ON i.stream_id = u.stream
       ), queued AS (
         INSERT INTO outbox (event_id) SELECT id FROM ev
       ), ins AS (
         INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
         SELECT id, stream, version, type, data, meta FROM ev
         RETURNING created_at
       )
       SELECT m.stream_id, m.last, (SELECT created_at FROM ins LIMIT 1) AS created_at
       FROM moved m`,
    values: [JSON.stringify(w.events), input.streams, input.expected, input.counts],
  });
  return r.rows;
}
