import type { Pool } from 'pg';
import {
  retrySerializable,
  sqlState,
  withTransaction,
  type RetryOptions,
} from '@orderflow/platform';
import {
  decideAppend,
  recordEvents,
  validateAppend,
  type AppendCommand,
  type RecordedEvent,
} from '../domain/append';
import { takeBatch } from '../domain/batch-scheduler';
import { ExpectedVersion, VersionConflictError } from '../domain/errors';
import { appendInTransaction, checkedGroup, currentVersion } from './pg/checked';
import { readAll, readStream } from './pg/reads';
import { createStreams, moveHeads, type MovedHead } from './pg/statements';
import type { AppendResult, GroupOutcome, ReadResult } from './pg/types';

export type { AppendResult, ReadResult } from './pg/types';

/** The write paths of an append, from the fastest to the one that answers every case. */
export type AppendPath = 'create-streams' | 'move-streams' | 'checked-group' | 'single';

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
   * statement, its own transaction, one round trip (moveHeads). Appends whose head did not move
   * (a version conflict, a retry whose events are written already, a stream that does not exist
   * yet) go the checked way, which gives each its precise answer; so does the whole group when the
   * statement fails (an event id written before: a retry with expected version any, or a reused id).
   */
  private async moveStreams(batch: Pending[]): Promise<void> {
    let moved: MovedHead[];
    try {
      moved = await this.retrySerialization(() =>
        moveHeads(
          this.pool,
          batch.map((p) => p.cmd),
        ),
      );
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
    let createdAt: string;
    try {
      createdAt = await this.retrySerialization(() =>
        createStreams(
          this.pool,
          batch.map((p) => p.cmd),
        ),
      );
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
          checkedGroup(
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

  /** The single path: one append, one transaction (also the fallback of a failed group). */
  private async appendAlone(cmd: AppendCommand, signal?: AbortSignal): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await withTransaction(this.pool, (c) => appendInTransaction(c, cmd), {
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
          const actual = await currentVersion(this.pool, cmd.streamId);
          throw new VersionConflictError(cmd.streamId, cmd.expectedVersion, actual);
        }
        if (attempt >= MAX_RACE_ATTEMPTS) throw err;
      }
    }
  }

  readStream(streamId: string, fromVersion: number, maxCount: number): Promise<ReadResult> {
    return readStream(this.pool, streamId, fromVersion, maxCount);
  }

  /** Every event by commit time, a page at a time (rebuilding projections). */
  readAll(after: string, maxCount: number): Promise<{ events: RecordedEvent[]; next: string }> {
    return readAll(this.pool, after, maxCount);
  }
}
