import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PostgresServer } from './postgres';

/**
 * The PostgreSQL server of a test run: jest's global setup starts one and passes its URL in
 * `ORDERFLOW_TEST_PG_URL`; each test file makes its own databases on it. A test file run without
 * the global setup starts its own server.
 */
let own: PostgresServer | undefined;

async function adminUrl(): Promise<string> {
  const shared = process.env['ORDERFLOW_TEST_PG_URL'];
  if (shared) return shared;
  own ??= await startPostgres();
  return own.url;
}

/** Creates a fresh, empty database with a unique name and returns its URL. */
export async function freshDatabase(prefix = 'test'): Promise<string> {
  const admin = await adminUrl();
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The admin URL (the `postgres` database) of the run's server. */
export async function postgresAdminUrl(): Promise<string> {
  return adminUrl();
}

export async function stopOwnPostgres(): Promise<void> {
  await own?.stop();
  own = undefined;
}
