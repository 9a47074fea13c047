import type { Pool, PoolClient } from 'pg';
import {
  retrySerializable,
  sqlState,
  withTransaction,
  type RetryOptions,
} from '@orderflow/platform';
import { recordedEventOfRow, type EventRow } from '@orderflow/contracts';
import {
  decideAppend,
  recordEvents,
  validateAppend,
  validateRead,
  type AppendCommand,
  type NewEvent,
  type RecordedEvent,
} from '../domain/append';
import { takeBatch } from '../domain/batch-scheduler';
import {
  ExpectedVersion,
  StoreError,
  VersionConflictError,
  invalidArgument,
} from '../domain/errors';

export interface AppendResult {
  nextExpectedVersion: number;
  /** True when every event already existed: nothing was written. */
  duplicate: boolean;
  /** The events this call wrote (empty for a duplicate). */
  recorded: RecordedEvent[];
}

export interface ReadResult {
  events: RecordedEvent[];
  lastVersion: number;
}

/** The write paths of an append, from the fastest to the one that answers every case. */
export type AppendPath = 'create-streams' | 'move-streams' | 'checked-group' | 'single';

/** One event to write: event id, stream id, version, event type, data, metadata. */
type EventRowInput = [string, string, number, string, string, Record<string, string>];

interface Writes {
  newStreams: string[];
  newVersions: number[];
  movedStreams: string[];
  movedVersions: number[];
  events: EventRowInput[];
}

const emptyWrites = (): Writes => ({
  newStreams: [],
  newVersions: [],
  movedStreams: [],
  movedVersions: [],
  events: [],
});

function addEvent(w: Writes, streamId: string, version: number, e: NewEvent): void {
  w.events.push([e.eventId, streamId, version, e.eventType, e.data, e.metadata]);
}

/**
 * The events of a group as one JSONB parameter (an array of `[id, stream, version, type, data,
 * metadata]`), unpacked by `jsonb_array_elements`: `JSON.stringify` escapes it natively, where six
 * array parameters had `pg` build and escape an array literal element by element (6 % of the
 * event store's CPU in a profile). Both PostgreSQL and CockroachDB have `jsonb_array_elements`.
 */
const EVENTS_FROM_JSON = `SELECT (e->>0)::UUID AS id, e->>1 AS stream, (e->>2)::INT8 AS version,
                                 e->>3 AS type, e->>4 AS data, e->5 AS meta
                            FROM jsonb_array_elements($1::JSONB) AS e`;

/**
 * Every write of a group in one statement (one round trip): new stream heads, moved heads, the
 * events and their outbox rows. A named statement, so PostgreSQL plans it once per connection.
 * Returns the commit timestamp the events got.
 */
async function writeAll(c: Pool | PoolClient, w: Writes): Promise<string> {
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

/** How many times a unique-key race is retried before it is reported. */
const MAX_RACE_ATTEMPTS = 10;

export interface GroupCommitOptions {
  /** Most appends committed together in one transaction; 1 turns group commit off. */
  maxBatch: number;
  /** Group-commit transactions running at once (each holds a pool connection). */
  maxConcurrentBatches: number;
}

export const defaultGroupCommit: GroupCommitOptions = { maxBatch: 256, maxConcurrentBatches: 4 };

interface Pending {
  cmd: AppendCommand;
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** What the group-commit transaction decided for one append: a result, or its own typed error. */
type GroupOutcome = { ok: true; result: AppendResult } | { ok: false; error: StoreError };

/**
 * The event store on PostgreSQL/CockroachDB. Usable in-process (benchmarks call it directly);
 * the gRPC service is a thin edge over it.
 *
 * Group commit: appends to distinct streams that arrive while earlier transactions are running
 * are committed together: those that start new streams in one statement (createStreams), the
 * others in one checked transaction (one lock query, one duplicate check, one write statement,
 * one commit and so one WAL flush for the lot). Each append is still validated and
 * version-checked on its own; a version conflict or a reused event id fails only that append.
 * Any database error in a group makes every append of it run again alone on the single path.
 * Appends to one stream are committed one after another, in the order they arrived.
 */
export class PgEventStore {
  private readonly queue: Pending[] = [];
  private running = 0;
  private drainScheduled = false;
  private holding = 0;
  /** Streams that a running group is writing. */
  private readonly writing = new Set<string>();
  private readonly groupCommit: GroupCommitOptions;

  constructor(
    private readonly pool: Pool,
    private readonly hooks: {
      onRetry?: RetryOptions['onRetry'];
      afterCommit?: (events: RecordedEvent[]) => void;
      /** A group that left one path for the next (counted and logged by the caller). */
      onFallback?: (from: AppendPath, to: AppendPath, err: unknown) => void;
    } = {},
    groupCommit: Partial<GroupCommitOptions> = {},
  ) {
    this.groupCommit = { ...defaultGroupCommit, ...groupCommit };
  }

  async append(input: AppendCommand, signal?: AbortSignal): Promise<AppendResult> {
    const cmd = validateAppend(input);
    if (this.groupCommit.maxBatch <= 1) return this.appendAlone(cmd, signal);
    signal?.throwIfAborted();
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Appends that arrive in the same event-loop turn (one socket read) join one group. Under load,
   * appends that arrive while the groups in flight commit queue up and form the next group.
   */
  private scheduleDrain(): void {
    if (this.holding > 0 || this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /**
   * Runs `start`, which starts appends known to belong together (one streamed request), and
   * commits the ones it queued right away instead of on the next turn of the event loop (a turn
   * of latency for every group). Appends it starts after an `await` join the next turn's group.
   */
  together<T>(start: () => T): T {
    this.holding++;
    try {
      return start();
    } finally {
      this.holding--;
      if (this.holding === 0 && this.queue.length > 0) this.drain();
    }
  }

  private drain(): void {
    while (this.running < this.groupCommit.maxConcurrentBatches && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length === 0) break; // every queued append waits for a stream being written now
      this.running++;
      for (const p of batch) this.writing.add(p.cmd.streamId);
      void this.commitGroup(batch).finally(() => {
        this.running--;
        for (const p of batch) this.writing.delete(p.cmd.streamId);
        if (this.queue.length > 0) this.drain();
      });
    }
  }

  /** The next group (domain/batch-scheduler.ts); the others stay queued in arrival order. */
  private takeBatch(): Pending[] {
    const { batch, rest } = takeBatch(this.queue, this.writing, this.groupCommit.maxBatch);
    this.queue.length = 0;
    this.queue.push(...rest);
    return batch;
  }

  private fallback(from: AppendPath, to: AppendPath, err: unknown): void {
    this.hooks.onFallback?.(from, to, err);
  }

  private async commitGroup(batch: Pending[]): Promise<void> {
    const fresh = batch.filter((p) => p.cmd.expectedVersion === ExpectedVersion.NoStream);
    const rest = batch.filter((p) => p.cmd.expectedVersion !== ExpectedVersion.NoStream);
    await Promise.all([
      fresh.length > 0 ? this.createStreams(fresh) : undefined,
      rest.length > 0 ? this.moveStreams(rest) : undefined,
    ]);
  }

  /**
   * The fast path for appends to streams that exist (expected version n >= 0, or any): one
   * statement, its own transaction, one round trip. It moves every head that is where its append
   * expects it (anywhere, for any) and writes the events and outbox rows of those appends,
   * numbered on from the head it moved. Appends whose head did not move (a version conflict, a
   * retry whose events are written already, a stream that does not exist yet) go the checked
   * way, which gives each its precise answer; so does the whole group when the statement fails
   * (an event id written before: a retry with expected version any, or a reused id).
   */
  private async moveStreams(batch: Pending[]): Promise<void> {
    const input = { streams: [] as string[], expected: [] as number[], counts: [] as number[] };
    const w = emptyWrites();
    for (const { cmd } of batch) {
      input.streams.push(cmd.streamId);
      input.expected.push(cmd.expectedVersion);
      input.counts.push(cmd.events.length);
      // Versions here are positions in the append (0, 1, ...); the statement adds the old head.
      cmd.events.forEach((e, i) => addEvent(w, cmd.streamId, i, e));
    }
    let moved: { stream_id: string; last: number; created_at: Date | null }[];
    try {
      moved = await this.retrySerialization(async () => {
        const r = await this.pool.query<{
          stream_id: string;
          last: number;
          created_at: Date | null;
        }>({
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
      });
    } catch (err: unknown) {
      this.fallback('move-streams', 'checked-group', err);
      await this.commitChecked(batch);
      return;
    }
    const lastOf = new Map(moved.map((m) => [m.stream_id, Number(m.last)]));
    const createdAt = (moved[0]?.created_at ?? new Date()).toISOString();
    const done: { p: Pending; result: AppendResult }[] = [];
    const rest: Pending[] = [];
    for (const p of batch) {
      const last = lastOf.get(p.cmd.streamId);
      if (last === undefined) {
        rest.push(p);
        continue;
      }
      // The statement moved the head from last - n: the same rule as every other path.
      const d = decideAppend(p.cmd, last - p.cmd.events.length, []);
      if (d.kind !== 'write') throw new Error(`moved stream ${p.cmd.streamId} refused: ${d.kind}`);
      const recorded = recordEvents(p.cmd, d.first, createdAt);
      done.push({ p, result: { nextExpectedVersion: d.last, duplicate: false, recorded } });
    }
    if (done.length > 0) this.hooks.afterCommit?.(done.flatMap((d) => d.result.recorded));
    for (const { p, result } of done) p.resolve(result);
    if (rest.length > 0) await this.commitChecked(rest);
  }

  /**
   * The fast path for appends that start new streams (expected version -1, most of them: every
   * order begins so): one statement, its own transaction, one round trip. A stream that exists
   * or an event id written before breaks a unique key, the statement writes nothing, and the
   * group goes the checked way, which gives each append its precise answer.
   */
  private async createStreams(batch: Pending[]): Promise<void> {
    const w = emptyWrites();
    for (const { cmd } of batch) {
      w.newStreams.push(cmd.streamId);
      w.newVersions.push(cmd.events.length - 1);
      cmd.events.forEach((e, i) => addEvent(w, cmd.streamId, i, e));
    }
    let createdAt: string;
    try {
      createdAt = await this.retrySerialization(() => writeAll(this.pool, w));
    } catch (err: unknown) {
      this.fallback('create-streams', 'checked-group', err);
      await this.commitChecked(batch);
      return;
    }
    const results = batch.map(({ cmd }) => ({
      nextExpectedVersion: cmd.events.length - 1,
      duplicate: false,
      recorded: recordEvents(cmd, 0, createdAt),
    }));
    this.hooks.afterCommit?.(results.flatMap((r) => r.recorded));
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  /** A one-statement transaction run again on SQLSTATE 40001, like withTransaction does. */
  private retrySerialization<T>(fn: () => Promise<T>): Promise<T> {
    return retrySerializable(fn, { onRetry: this.hooks.onRetry });
  }

  /** Locks, reads and checks every append of the group, then writes those that pass, in one transaction. */
  private async commitChecked(batch: Pending[]): Promise<void> {
    let outcomes: GroupOutcome[];
    try {
      outcomes = await withTransaction(
        this.pool,
        (c) =>
          this.groupTx(
            c,
            batch.map((p) => p.cmd),
          ),
        { onRetry: this.hooks.onRetry },
      );
    } catch (err: unknown) {
      // A unique-key race with another writer, retries exhausted, a lost connection: run each
      // append alone, where every one of those cases has its precise answer.
      this.fallback('checked-group', 'single', err);
      await Promise.all(batch.map((p) => this.appendAlone(p.cmd).then(p.resolve, p.reject)));
      return;
    }
    const recorded = outcomes.flatMap((o) => (o.ok ? o.result.recorded : []));
    if (recorded.length > 0) this.hooks.afterCommit?.(recorded);
    outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.result) : batch[i]!.reject(o.error)));
  }

  /** One transaction for a group of appends to distinct streams. */
  private async groupTx(c: PoolClient, cmds: AppendCommand[]): Promise<GroupOutcome[]> {
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

  /** The single path: one append, one transaction (also the fallback of a failed group). */
  private async appendAlone(cmd: AppendCommand, signal?: AbortSignal): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await withTransaction(this.pool, (c) => this.appendTx(c, cmd), {
          onRetry: this.hooks.onRetry,
          signal,
        });
        if (result.recorded.length > 0) this.hooks.afterCommit?.(result.recorded);
        return result;
      } catch (err: unknown) {
        if (sqlState(err) !== '23505') throw err;
        // A concurrent append won the race for a version or an event id.
        const constraint = (err as { constraint?: string }).constraint ?? '';
        const versionRace = /streams_pkey|stream_version/.test(constraint);
        if (versionRace && cmd.expectedVersion !== ExpectedVersion.Any) {
          const actual = await this.currentVersion(this.pool, cmd.streamId);
          throw new VersionConflictError(cmd.streamId, cmd.expectedVersion, actual);
        }
        if (attempt >= MAX_RACE_ATTEMPTS) throw err;
      }
    }
  }

  private async appendTx(c: PoolClient, cmd: AppendCommand): Promise<AppendResult> {
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
      await c.query('INSERT INTO streams (stream_id, version) VALUES ($1, $2)', [
        cmd.streamId,
        last,
      ]);
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

  private async currentVersion(c: Pool | PoolClient, streamId: string): Promise<number> {
    const r = await c.query<{ version: number }>(
      'SELECT version FROM streams WHERE stream_id = $1',
      [streamId],
    );
    return r.rows[0]?.version ?? -1;
  }

  async readStream(streamId: string, fromVersion: number, maxCount: number): Promise<ReadResult> {
    const q = validateRead(streamId, fromVersion, maxCount);
    // One statement (one round trip, one snapshot): the head, and the page of events beside it.
    const r = await this.pool.query<{ last_version: number | null } & Partial<EventRow>>({
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

  /**
   * Pages through every event by commit timestamp, for rebuilding projections. Not a live tail:
   * ordering is guaranteed per stream (by version), not globally (DESIGN §3).
   */
  async readAll(
    after: string,
    maxCount: number,
  ): Promise<{ events: RecordedEvent[]; next: string }> {
    const count = maxCount === 0 ? 1000 : maxCount;
    if (count < 0 || count > 10_000)
      throw invalidArgument('max_count', 'must be between 0 and 10000');
    let cursor: { ts: string; id: string } | undefined;
    if (after) {
      try {
        const parsed = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as unknown;
        if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
          cursor = { ts: parsed[0], id: parsed[1] };
      } catch {
        /* reported below */
      }
      if (!cursor) throw invalidArgument('after', 'is not a position returned by ReadAll');
    }
    const rows = await this.pool.query<EventRow & { ts: string }>(
      `SELECT event_id, stream_id, version, event_type, data, metadata, created_at, created_at::TEXT AS ts
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
}
