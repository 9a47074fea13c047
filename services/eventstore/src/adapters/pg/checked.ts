import type { Pool, PoolClient } from 'pg';
import { decideAppend, recordEvents, type AppendCommand } from '../../domain/append';
import { addEvent, emptyWrites, writeAll } from './statements';
import type { AppendResult, GroupOutcome } from './types';

/**
 * The checked path: locks, reads and checks every append of a group to distinct streams, then
 * writes those that pass, in the caller's transaction. Each gets its own answer (decideAppend).
 */
export async function checkedGroup(c: PoolClient, cmds: AppendCommand[]): Promise<GroupOutcome[]> {
  const streamIds = cmds.map((cmd) => cmd.streamId);
  // Lock the heads in a fixed order (two groups never deadlock on each other), then look for
  // event ids written before: after the wait this statement sees what the writers before committed.
  const heads = await c.query<{ stream_id: string; version: number }>({
    name: 'eventstore-lock-heads',
    text: 'SELECT stream_id, version FROM streams WHERE stream_id = ANY($1::TEXT[]) ORDER BY stream_id FOR UPDATE',
    values: [streamIds],
  });
  const allIds = cmds.flatMap((cmd) => cmd.events.map((e) => e.eventId));
  const existing = await c.query<{ event_id: string; stream_id: string; version: number }>({
    name: 'eventstore-find-ids',
    text: 'SELECT event_id, stream_id, version FROM events WHERE event_id = ANY($1::UUID[])',
    values: [allIds],
  });
  const headOf = new Map(heads.rows.map((r) => [r.stream_id, r.version]));
  const found = new Map(existing.rows.map((r) => [r.event_id, r]));

  const outcomes: GroupOutcome[] = [];
  const w = emptyWrites();
  const written: { cmd: AppendCommand; first: number; index: number }[] = [];
  for (const cmd of cmds) {
    const seen = cmd.events.map((e) => found.get(e.eventId)).filter((r) => r !== undefined);
    const d = decideAppend(cmd, headOf.get(cmd.streamId), seen);
    if (d.kind === 'duplicate') {
      outcomes.push({
        ok: true,
        result: { nextExpectedVersion: d.nextExpectedVersion, duplicate: true, recorded: [] },
      });
      continue;
    }
    if (d.kind === 'reject') {
      outcomes.push({ ok: false, error: d.error });
      continue;
    }
    if (d.newStream) {
      w.newStreams.push(cmd.streamId);
      w.newVersions.push(d.last);
    } else {
      w.movedStreams.push(cmd.streamId);
      w.movedVersions.push(d.last);
    }
    cmd.events.forEach((e, i) => addEvent(w, cmd.streamId, d.first + i, e));
    written.push({ cmd, first: d.first, index: outcomes.length });
    outcomes.push({
      ok: true,
      result: { nextExpectedVersion: d.last, duplicate: false, recorded: [] },
    });
  }
  if (written.length === 0) return outcomes;

  const createdAt = await writeAll(c, w);
  for (const { cmd, first, index } of written) {
    const o = outcomes[index]!;
    if (o.ok) o.result.recorded = recordEvents(cmd, first, createdAt);
  }
  return outcomes;
}

/** The single path: one append in the caller's transaction (also the fallback of a failed group). */
export async function appendInTransaction(
  c: PoolClient,
  cmd: AppendCommand,
): Promise<AppendResult> {
  // Lock the stream's head first: after the wait, this transaction sees whatever the writer
  // before it committed (including the same events, when this is a retry).
  const head = await c.query<{ version: number }>(
    'SELECT version FROM streams WHERE stream_id = $1 FOR UPDATE',
    [cmd.streamId],
  );
  const ids = cmd.events.map((e) => e.eventId);
  const existing = await c.query<{ event_id: string; stream_id: string; version: number }>(
    'SELECT event_id, stream_id, version FROM events WHERE event_id = ANY($1::UUID[])',
    [ids],
  );
  const d = decideAppend(cmd, head.rows[0]?.version, existing.rows);
  if (d.kind === 'duplicate')
    return { nextExpectedVersion: d.nextExpectedVersion, duplicate: true, recorded: [] };
  if (d.kind === 'reject') throw d.error;
  const last = d.last;
  if (d.newStream) {
    // A concurrent creator makes this fail with 23505 on streams_pkey; append() sorts that out.
    await c.query('INSERT INTO streams (stream_id, version) VALUES ($1, $2)', [cmd.streamId, last]);
  } else {
    await c.query('UPDATE streams SET version = $2 WHERE stream_id = $1', [cmd.streamId, last]);
  }
  const versions = cmd.events.map((_, i) => d.first + i);
  const rows = await c.query<{ event_id: string; created_at: Date }>(
    `INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
     SELECT u.id, $2, u.version, u.type, u.data, u.meta::JSONB
     FROM unnest($1::UUID[], $3::INT8[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) AS u(id, version, type, data, meta)
     RETURNING event_id, created_at`,
    [
      ids,
      cmd.streamId,
      versions,
      cmd.events.map((e) => e.eventType),
      cmd.events.map((e) => e.data),
      cmd.events.map((e) => JSON.stringify(e.metadata)),
    ],
  );
  await c.query('INSERT INTO outbox (event_id) SELECT unnest($1::UUID[])', [ids]);
  const createdAt = (rows.rows[0]?.created_at ?? new Date()).toISOString();
  return {
    nextExpectedVersion: last,
    duplicate: false,
    recorded: recordEvents(cmd, d.first, createdAt),
  };
}

export async function currentVersion(c: Pool | PoolClient, streamId: string): Promise<number> {
  const r = await c.query<{ version: number }>('SELECT version FROM streams WHERE stream_id = $1', [
    streamId,
  ]);
  return r.rows[0]?.version ?? -1;
}
