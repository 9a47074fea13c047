import { recordedEventOfRow, type EventRow } from '@orderflow/contracts';
import type { Logger } from '@orderflow/platform';
import type { Pool } from 'pg';
import type { RecordedEvent } from '../../domain/append';
import type { EventPublisher } from './event-publisher';
import type { OutboxDeletes } from './outbox-deletes';

export interface RelayOptions {
  relayIntervalMs: number;
  /** The relay leaves rows younger than this to the inline publisher. */
  relayGraceMs: number;
  relayBatchSize: number;
}

/**
 * The publisher's second job: every `relayIntervalMs`, publish what is still in the outbox after
 * the grace period (a crash between commit and publish, NATS down), in batches; while a full
 * batch is published the next one is read (a backlog drains without waiting on the database).
 */
export class OutboxRelay {
  private readonly publishing = new Set<string>();
  private readAhead: Promise<RecordedEvent[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly publisher: EventPublisher,
    private readonly deletes: OutboxDeletes,
    private readonly opts: RelayOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * The next batch: the oldest outbox rows past the grace period, without those being published
   * or whose delete is on its way (taken before the query: a delete that commits while the query
   * runs may or may not hide its rows).
   */
  private async selectBatch(graceMs: number): Promise<RecordedEvent[]> {
    void this.deletes.flush();
    const skip = new Set([...this.deletes.pending(), ...this.publishing]);
    const rows = await this.pool.query<EventRow>({
      name: 'eventstore-relay-select',
      text: `SELECT e.event_id, e.stream_id, e.version, e.event_type, e.data, e.metadata, e.created_at
       FROM outbox o JOIN events e ON e.event_id = o.event_id
       WHERE o.created_at < now() - ($1::INT8 * INTERVAL '1 millisecond')
         AND NOT (o.event_id = ANY($3::UUID[]))
       ORDER BY o.created_at, e.stream_id, e.version
       LIMIT $2`,
      values: [graceMs, this.opts.relayBatchSize, [...skip]],
    });
    return rows.rows.map(recordedEventOfRow);
  }

  /**
   * One relay pass; returns how many events it published. A row read ahead may have been
   * published inline meanwhile: then it goes out twice, which JetStream's dedupe absorbs.
   */
  async relayOnce(graceMs = this.opts.relayGraceMs): Promise<number> {
    const ahead = this.readAhead;
    this.readAhead = undefined;
    const batch = await (ahead ?? this.selectBatch(graceMs));
    if (batch.length === 0) return 0;
    for (const e of batch) this.publishing.add(e.eventId);
    if (batch.length === this.opts.relayBatchSize && !this.stopped) {
      const next = this.selectBatch(graceMs);
      next.catch(() => undefined); // reported by the pass that uses it
      this.readAhead = next;
    }
    try {
      await this.publisher.publishAll(batch, 'relay');
    } finally {
      for (const e of batch) this.publishing.delete(e.eventId);
    }
    // The delete goes on in the background; the next pass does not wait for it.
    void this.deletes.flush();
    this.logger.info({ count: batch.length }, 'relay published events left in the outbox');
    return batch.length;
  }

  /** Drains a backlog in consecutive batches, then waits for the next tick. */
  private async pass(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayOnce()) === this.opts.relayBatchSize);
    } catch (err: unknown) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'relay pass failed',
      );
    }
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.pass();
      void this.running.finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.opts.relayIntervalMs);
      });
    };
    this.timer = setTimeout(tick, this.opts.relayIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.readAhead?.catch(() => undefined);
    this.readAhead = undefined;
  }
}
