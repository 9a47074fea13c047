// One side of the peer scenario in its own process: emmett-postgresql installs a pg type parser
// that turns every int8 into a BigInt for the whole process, which would change what the other
// side (and the other scenarios) read. usage: node bench/dist/peer-side.js orderflow|emmett CONCURRENCY WARMUP_MS DURATION_MS DATABASE_URL
import pg from 'pg';
import { createPool, migrate } from '@orderflow/platform';
import { PgEventStore, migrationsDir } from '@orderflow/eventstore';
import { orderCreated, orderCreatedAppend } from './payload';
import { measure } from './stats';

async function main(): Promise<void> {
  const [side, c, warmupMs, durationMs, url] = process.argv.slice(2);
  if (!url || (side !== 'orderflow' && side !== 'emmett'))
    throw new Error('usage: peer-side orderflow|emmett C WARMUP_MS DURATION_MS URL');
  const concurrency = Number(c);
  const timing = { warmupMs: Number(warmupMs), durationMs: Number(durationMs) };
  if (side === 'orderflow') {
    const pool = createPool(url, 10); // the event store's default DATABASE_POOL_MAX
    await migrate(pool, migrationsDir);
    // The Publisher relay is off: emmett publishes to no broker, so this compares the storage path.
    const store = new PgEventStore(pool);
    const r = await measure(concurrency, () => store.append(orderCreatedAppend()), timing);
    await pool.end();
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const { getPostgreSQLEventStore, STREAM_DOES_NOT_EXIST } = await import('./scenarios/emmett.js');
  const pool = new pg.Pool({ connectionString: url, max: Math.max(concurrency, 10) });
  const emmett = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await emmett.schema.migrate();
  const r = await measure(
    concurrency,
    () => {
      const e = orderCreated();
      return emmett.appendToStream(
        `order-${e.orderId}`,
        [
          {
            type: e.eventType,
            data: JSON.parse(e.data) as Record<string, unknown>,
            metadata: { ...e.metadata, messageId: e.eventId },
          },
        ],
        { expectedStreamVersion: STREAM_DOES_NOT_EXIST },
      );
    },
    timing,
  );
  await emmett.close().catch(() => undefined);
  await pool.end().catch(() => undefined);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `peer-side failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
