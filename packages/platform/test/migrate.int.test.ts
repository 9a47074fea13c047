import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { createPool, migrate, migrateDatabase } from '../src';
import { freshDatabase, postgresAdminUrl, waitFor } from '@orderflow/testkit';

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

test('when the database does not exist yet, then migrate waits with a log line per attempt and runs once it is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  writeFileSync(join(dir, '001_t.sql'), 'CREATE TABLE IF NOT EXISTS t (id UUID PRIMARY KEY);');
  const admin = await postgresAdminUrl();
  const name = `later_${Date.now()}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const lines: { msg: string; database?: string; reason?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const migrating = migrateDatabase(url.toString(), dir, logger, {
    baseDelayMs: 100,
    maxDelayMs: 200,
  });
  // The "init Job" creates the database only after the first attempts failed.
  await waitFor(
    'two waits',
    () => lines.filter((l) => l.msg === 'waiting for the database').length >= 2,
  );
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  await migrating;
  const waits = lines.filter((l) => l.msg === 'waiting for the database');
  expect(waits[0]).toMatchObject({ database: name, reason: expect.stringContaining(name) });
  expect(JSON.stringify(waits)).not.toContain(url.password || 'no-password-in-url');
  expect(lines.map((l) => l.msg)).toContain('migration applied');
});

test('when the database stays away past the wait, then migrate fails with its error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  const url = new URL(await postgresAdminUrl());
  url.pathname = '/never_created_database';
  await expect(
    migrateDatabase(url.toString(), dir, undefined, { timeoutMs: 300, baseDelayMs: 50 }),
  ).rejects.toThrow(/never_created_database/);
});
