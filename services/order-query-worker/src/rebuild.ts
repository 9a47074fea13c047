import { InvalidEventError } from '@orderflow/events';
import {
  PoisonMessageError,
  createEventStoreClient,
  createPool,
  migrate,
  type Logger,
} from '@orderflow/platform';
import type { RecordedEvent } from '@orderflow/proto';
import { PgOrders } from './adapters/pg-orders';
import { migrationsDir } from './app';
import type { Config } from './config';
import type { VersionedEvent } from './domain/projection';
import { toVersionedEvent } from './application/parse-message';

export interface RebuildReport {
  read: number;
  applied: number;
  duplicates: number;
  /** Events that are not order events of this catalogue (logged, not projected). */
  skipped: number;
  /** Events still waiting for an earlier version when the log ended (a damaged stream). */
  unresolved: number;
}

export class RebuildRefusedError extends Error {
  override name = 'RebuildRefusedError';
}

/**
 * Rebuilds the `orders` read model from the event store: reads every event with `ReadAll` and
 * projects it into an empty table. ReadAll is ordered by commit time, and events committed in one
 * append share it, so an event that arrives before its predecessor waits in memory until the
 * predecessor has been applied. Run it with the workers stopped (scaled to zero).
 */
export async function rebuild(
  config: Config,
  logger: Logger,
  opts: { truncate?: boolean; pageSize?: number } = {},
): Promise<RebuildReport> {
  const pool = createPool(config.DATABASE_URL, 2);
  const es = createEventStoreClient(config.EVENTSTORE_ADDRESS);
  try {
    if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
    const orders = new PgOrders(pool);
    const existing = await orders.count();
    if (existing > 0) {
      if (!opts.truncate)
        throw new RebuildRefusedError(
          `the orders table holds ${existing} rows; rebuild --truncate empties it first`,
        );
      await orders.clear();
      logger.warn({ rows: existing }, 'orders table emptied for the rebuild');
    }
    const report: RebuildReport = { read: 0, applied: 0, duplicates: 0, skipped: 0, unresolved: 0 };
    const waiting = new Map<string, Map<number, VersionedEvent>>();

    const applyWithFollowers = async (orderId: string, e: VersionedEvent): Promise<void> => {
      let next: VersionedEvent | undefined = e;
      while (next) {
        const result = await orders.apply(orderId, next);
        if (result === 'gap') {
          const w = waiting.get(orderId) ?? new Map<number, VersionedEvent>();
          w.set(next.version, next);
          waiting.set(orderId, w);
          return;
        }
        if (result === 'applied') report.applied++;
        else report.duplicates++;
        const w = waiting.get(orderId);
        const follower: VersionedEvent | undefined = w?.get(next.version + 1);
        if (w && follower) {
          w.delete(follower.version);
          if (w.size === 0) waiting.delete(orderId);
        }
        next = follower;
      }
    };

    const project1 = async (r: RecordedEvent): Promise<void> => {
      report.read++;
      let parsed: { orderId: string; event: VersionedEvent };
      try {
        let data: unknown;
        try {
          data = JSON.parse(r.data);
        } catch {
          throw new PoisonMessageError('data is not JSON');
        }
        parsed = toVersionedEvent({ ...r, data });
      } catch (err: unknown) {
        if (!(err instanceof PoisonMessageError || err instanceof InvalidEventError)) throw err;
        report.skipped++;
        logger.warn(
          { eventId: r.eventId, streamId: r.streamId, reason: err.message },
          'event skipped by the rebuild',
        );
        return;
      }
      await applyWithFollowers(parsed.orderId, parsed.event);
    };

    let after = '';
    do {
      const page = await es.client.readAll({ after, maxCount: opts.pageSize ?? 1000 });
      for (const r of page.events) await project1(r);
      after = page.next;
    } while (after);

    for (const w of waiting.values()) report.unresolved += w.size;
    if (report.unresolved > 0)
      logger.error(
        { unresolved: report.unresolved },
        'events left waiting for a missing earlier version',
      );
    logger.info({ ...report }, 'rebuild finished');
    return report;
  } finally {
    es.close();
    await pool.end();
  }
}
