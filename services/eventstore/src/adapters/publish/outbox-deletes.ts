import type { Pool } from 'pg';
import type { Logger } from '@orderflow/platform';

/**
 * The publisher's third job: deleting the outbox rows of acknowledged publishes, in batches (500
 * ids, or what 20 ms gathered), one delete after another. Rows whose delete is on its way are
 * known (`pending`), so a relay pass skips them instead of publishing them twice.
 */
export class OutboxDeletes {
  private readonly queued: string[] = [];
  private readonly deleting = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  queue(eventId: string): void {
    this.queued.push(eventId);
    if (this.queued.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 20);
  }

  /** Ids queued or being deleted now. */
  pending(): string[] {
    return [...this.deleting];
  }

  /** Deletes what is queued so far; resolves when every delete started until now is done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ids = this.queued.splice(0);
    for (const id of ids) this.deleting.add(id);
    this.chain = this.chain.then(async () => {
      if (ids.length === 0) return;
      await this.deleteRows(ids);
      for (const id of ids) this.deleting.delete(id);
    });
    return this.chain;
  }

  private async deleteRows(ids: string[]): Promise<void> {
    try {
      await this.pool.query({
        name: 'eventstore-outbox-delete',
        text: 'DELETE FROM outbox WHERE event_id = ANY($1::UUID[])',
        values: [ids],
      });
    } catch (err: unknown) {
      // The rows stay; the relay publishes them again and JetStream drops the duplicates.
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), count: ids.length },
        'outbox delete failed',
      );
    }
  }
}
