import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate } from '../src';
import { freshDatabase } from '@orderflow/testkit';

test('when several replicas run the same migrations at once, then all succeed and each migration is recorded once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  writeFileSync(
    join(dir, '001_things.sql'),
    `CREATE TABLE IF NOT EXISTS things (id UUID PRIMARY KEY, name TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS things_name ON things (name);`,
  );
  writeFileSync(
    join(dir, '002_more.sql'),
    'CREATE TABLE IF NOT EXISTS more_things (id UUID PRIMARY KEY);',
  );
  const url = await freshDatabase('migrate');
  const pools = Array.from({ length: 6 }, () => createPool(url, 2));
  try {
    await Promise.all(pools.map((p) => migrate(p, dir)));
    const recorded = await pools[0]!.query<{ version: string }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(recorded.rows.map((r) => r.version)).toEqual(['001_things.sql', '002_more.sql']);
    const tables = await pools[0]!.query<{ n: number }>(
      "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_name IN ('things', 'more_things')",
    );
    expect(tables.rows[0]!.n).toBe(2);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});
