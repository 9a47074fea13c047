import pg from 'pg';
import pino from 'pino';
import { createPool, endPool } from '../src';
import { freshDatabase, waitFor } from '@orderflow/testkit';

test('when a connection does not let go, then endPool gives up after its timeout with a warning instead of holding the stop', async () => {
  const url = await freshDatabase('end_pool');
  const pool = createPool(url, 2);
  // A query that outlives the stop: as a connection to a database that vanished without a word.
  const stuck = pool.query('SELECT pg_sleep(30)').catch(() => undefined);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await waitFor('the sleeping query', async () => {
    const r = await admin.query<{ n: number }>(
      "SELECT count(*)::INT AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
    );
    return (r.rows[0]?.n ?? 0) > 0;
  });
  const lines: { msg: string; database?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  let ended = false;
  await endPool(pool, logger, 300).then(() => (ended = true));
  expect(ended).toBe(true);
  expect(lines).toEqual([
    expect.objectContaining({
      msg: 'database connections did not close in time; leaving them',
      database: new URL(url).pathname.slice(1),
    }),
  ]);
  await admin.query(
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
  );
  await stuck;
  await admin.end();
});

test('when every connection is idle, then endPool ends the pool without a warning', async () => {
  const pool = createPool(await freshDatabase('end_pool'), 2);
  await pool.query('SELECT 1');
  const lines: string[] = [];
  await endPool(pool, pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }), 2000);
  expect(pool.ended).toBe(true);
  expect(lines).toEqual([]);
});
