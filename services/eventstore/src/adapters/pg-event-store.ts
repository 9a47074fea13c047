import type { Pool, PoolClient } from 'pg';
import { sqlState, withTransaction, type RetryOptions } from '@orderflow/platform';
import {
  checkExpectedVersion,
  validateAppend,
  validateRead,
  type AppendCommand,
  type RecordedEvent,
} from '../domain/append';
import { ExpectedVersion, StoreError, VersionConflictError, invalidArgument } from '../domain/errors';

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

interface EventRow {
  event_id: string;
  stream_id: string;
  version: number;
  event_type: string;
  data: string;
  metadata: Record<string, string>;
  created_at: Date;
}

const toRecorded = (r: EventRow): RecordedEvent => ({
  eventId: r.event_id,
  streamId: r.stream_id,
  version: r.version,
  eventType: r.event_type,
  data: r.data,
  metadata: r.metadata,
  createdAt: r.created_at.toISOString(),
});

/** How many times a unique-key race is retried before it is reported. */
const MAX_RACE_ATTEMPTS = 10;

/**
 * The event store on PostgreSQL/CockroachDB. Usable in-process (benchmarks call it directly);
 * the gRPC service is a thin edge over it.
 */
export class PgEventStore {
  constructor(
    private readonly pool: Pool,
    private readonly hooks: { onRetry?: RetryOptions['onRetry']; afterCommit?: (events: RecordedEvent[]) => void } = {},
  ) {}

  async append(input: AppendCommand, signal?: AbortSignal): Promise<AppendResult> {
    const cmd = validateAppend(input);
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
    const head = await c.query<{ version: number }>('SELECT version FROM streams WHERE stream_id = $1 FOR UPDATE', [
      cmd.streamId,
    ]);
    const ids = cmd.events.map((e) => e.eventId);
    const existing = await c.query<{ event_id: string; stream_id: string; version: number }>(
      'SELECT event_id, stream_id, version FROM events WHERE event_id = ANY($1::UUID[])',
      [ids],
    );
    if (existing.rows.length > 0) {
      const sameStream = existing.rows.every((r) => r.stream_id === cmd.streamId);
      if (existing.rows.length === ids.length && sameStream) {
        return { nextExpectedVersion: Math.max(...existing.rows.map((r) => r.version)), duplicate: true, recorded: [] };
      }
      const first = existing.rows[0]!;
      throw new StoreError(
        'event-id-conflict',
        `event_id ${first.event_id} already exists in stream ${first.stream_id} at version ${first.version}; ` +
          'an append is idempotent only when all of its event ids were written together before',
      );
    }
    const current = head.rows[0]?.version ?? -1;
    checkExpectedVersion(cmd.streamId, cmd.expectedVersion, current);
    const last = current + cmd.events.length;
    if (head.rows.length === 0) {
      // A concurrent creator makes this fail with 23505 on streams_pkey; append() sorts that out.
      await c.query('INSERT INTO streams (stream_id, version) VALUES ($1, $2)', [cmd.streamId, last]);
    } else {
      await c.query('UPDATE streams SET version = $2 WHERE stream_id = $1', [cmd.streamId, last]);
    }
    const versions = cmd.events.map((_, i) => current + 1 + i);
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
      nextExpectedVersion: versions[versions.length - 1]!,
      duplicate: false,
      recorded: cmd.events.map((e, i) => ({ ...e, streamId: cmd.streamId, version: versions[i]!, createdAt })),
    };
  }

  private async currentVersion(c: Pool | PoolClient, streamId: string): Promise<number> {
    const r = await c.query<{ version: number }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
    return r.rows[0]?.version ?? -1;
  }

  async readStream(streamId: string, fromVersion: number, maxCount: number): Promise<ReadResult> {
    const q = validateRead(streamId, fromVersion, maxCount);
    const [rows, last] = await Promise.all([
      this.pool.query<EventRow>(
        `SELECT event_id, stream_id, version, event_type, data, metadata, created_at
         FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
        [streamId, q.fromVersion, q.maxCount],
      ),
      this.currentVersion(this.pool, streamId),
    ]);
    return { events: rows.rows.map(toRecorded), lastVersion: last };
  }

  /**
   * Pages through every event by commit timestamp, for rebuilding projections. Not a live tail:
   * ordering is guaranteed per stream (by version), not globally (DESIGN §3).
   */
  async readAll(after: string, maxCount: number): Promise<{ events: RecordedEvent[]; next: string }> {
    const count = maxCount === 0 ? 1000 : maxCount;
    if (count < 0 || count > 10_000) throw invalidArgument('max_count', 'must be between 0 and 10000');
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
    return { events: rows.rows.map(toRecorded), next };
  }
}
