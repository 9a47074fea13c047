import { createEventStoreClient, createPool, migrate, type Logger } from '@orderflow/platform';
import type { RecordedEvent } from '@orderflow/contracts';
import { ReadModelRebuild, type RebuildReport } from './application/rebuild-read-model';
import { PgOrders } from './adapters/pg-orders';
import { migrationsDir } from './app';
import type { Config } from './config';

export type { RebuildReport } from './application/rebuild-read-model';

export class RebuildRefusedError extends Error {
  override name = 'RebuildRefusedError';
}

/** Empties the table when allowed; a table with rows and no --truncate is refused. */
async function emptyTable(orders: PgOrders, truncate: boolean, logger: Logger): Promise<void> {
  const existing = await orders.count();
  if (existing === 0) return;
  if (!truncate)
    throw new RebuildRefusedError(
      `the orders table holds ${existing} rows; rebuild --truncate empties it first`,
    );
  await orders.clear();
  logger.warn({ rows: existing }, 'orders table emptied for the rebuild');
}

/**
 * Rebuilds the `orders` read model from the event store: reads every event with `ReadAll` and
 * projects it into an empty table (application/rebuild-read-model.ts). Run it with the workers
 * stopped (scaled to zero).
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
    await emptyTable(orders, opts.truncate ?? false, logger);
    const pages = async function* (): AsyncIterable<readonly RecordedEvent[]> {
      let after = '';
      do {
        const page = await es.client.readAll({ after, maxCount: opts.pageSize ?? 1000 });
        yield page.events;
        after = page.next;
      } while (after);
    };
    const report = await new ReadModelRebuild({ orders, pages, logger }).run();
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
