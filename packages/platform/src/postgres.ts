import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

export type { Pool, PoolClient } from 'pg';

/** Returns int8 (bigint) columns as JS numbers: versions and cents stay far below 2^53. */
pg.types.setTypeParser(20, (v) => Number(v));

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: process.env['OTEL_SERVICE_NAME'] ?? 'orderflow',
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener Node exits.
  pool.on('error', () => undefined);
  return pool;
}

export interface RetryOptions {
  /** Attempts in all, including the first. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each retry (for metrics and logs). */
  onRetry?: (attempt: number, err: unknown) => void;
  signal?: AbortSignal;
}

/** SQLSTATEs that mean "run the transaction again": serialization failure and deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && RETRYABLE.has((err as { code?: string }).code ?? '')
  );
}

export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(
      `transaction failed after ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/**
 * Runs `fn` again on SQLSTATE 40001 (what CockroachDB answers for contention) after a backoff
 * with full jitter, a bounded number of times. Alone it serves one statement that is its own
 * transaction (no BEGIN and COMMIT round trips); `withTransaction` runs each attempt in one.
 */
export async function retrySerializable<T>(
  fn: () => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 8;
  const base = opts.baseDelayMs ?? 5;
  const cap = opts.maxDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err: unknown) {
      if (!isRetryable(err)) throw err;
      if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, err);
      opts.onRetry?.(attempt, err);
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** attempt)));
    }
  }
}

/**
 * The one transaction helper (DESIGN §3): BEGIN, run `fn`, COMMIT, retried by
 * `retrySerializable`: on SQLSTATE 40001 it rolls back, gives the connection back, and runs `fn`
 * again after the backoff. `fn` must be safe to run more than once: everything it does is inside
 * the transaction that is rolled back.
 */
export function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  return retrySerializable(async () => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err: unknown) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }, opts);
}

export interface WaitOptions {
  /** Gives up (throws the last error) after this long; default 5 minutes. */
  timeoutMs?: number;
  /** First pause between attempts, doubled up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Waits until the database answers, with backoff: on Kubernetes a service's migrate init
 * container often starts before the database, or before its init Job has created the database
 * and the service's user. Every failure there (refused connection, unknown host, missing
 * database, failed login) is worth waiting out; exiting instead would put the pod into the
 * kubelet's crash-loop backoff, minutes long. Logs one line per attempt naming the host and
 * database (never the password) and the reason.
 */
export async function waitForDatabase(
  pool: pg.Pool,
  logger?: Logger,
  opts: WaitOptions = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const cap = opts.maxDelayMs ?? 5_000;
  const until = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      if (attempt > 1) logger?.info({ attempts: attempt }, 'database is reachable');
      return;
    } catch (err: unknown) {
      const delay = Math.min(cap, (opts.baseDelayMs ?? 500) * 2 ** (attempt - 1));
      if (Date.now() + delay > until) throw err;
      logger?.warn(
        {
          attempt,
          retryInMs: delay,
          ...whereTo(pool),
          reason: err instanceof Error ? err.message : String(err),
          code: sqlState(err),
        },
        'waiting for the database',
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Host and database of a pool, for log lines: never the user or the password. */
function whereTo(pool: pg.Pool): { host?: string; database?: string } {
  try {
    const u = new URL(pool.options.connectionString ?? '');
    return { host: u.host, database: u.pathname.replace(/^\//, '') };
  } catch {
    return {};
  }
}

/**
 * Runs the `*.sql` files of a folder in name order, once each, recording them in
 * `schema_migrations`. Every statement must be idempotent (`IF NOT EXISTS`), so two replicas
 * starting together do no harm, and must run on both PostgreSQL and CockroachDB. Waits for the
 * database first (waitForDatabase).
 */
export async function migrate(
  pool: pg.Pool,
  dir: string,
  logger?: Logger,
  wait: WaitOptions = {},
): Promise<string[]> {
  await waitForDatabase(pool, logger, wait);
  await runIdempotentDdl(
    pool,
    'CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
  );
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const applied = new Set(
    (await pool.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map(
      (r) => r.version,
    ),
  );
  const ran: string[] = [];
  for (const file of files) {
    if (applied.has(file)) continue;
    const sql = await readFile(join(dir, file), 'utf8');
    // Statements run one by one: CockroachDB does not mix DDL and DML in one implicit transaction well.
    for (const statement of splitSql(sql)) await runIdempotentDdl(pool, statement);
    await pool.query(
      'INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING',
      [file],
    );
    logger?.info({ migration: file }, 'migration applied');
    ran.push(file);
  }
  return ran;
}

/**
 * Two replicas migrating at once can both pass `IF NOT EXISTS` and then collide in PostgreSQL's
 * catalog (23505 on pg_type, 42P07 duplicate table, 42710 duplicate object). The statement is
 * idempotent, so running it again after the other replica finished is safe.
 */
async function runIdempotentDdl(pool: pg.Pool, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(statement);
      return;
    } catch (err: unknown) {
      const code = sqlState(err);
      if (
        attempt >= 5 ||
        !(code === '23505' || code === '42P07' || code === '42710' || isRetryable(err))
      )
        throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 50));
    }
  }
}

function splitSql(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/** Creates a database if it is missing (local runner and tests; the chart's init job does it in Kubernetes). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        // Identifiers cannot be parameters; the name was checked against a strict pattern above.
        await client.query(`CREATE DATABASE ${name}`);
      } catch (err: unknown) {
        if (sqlState(err) !== '42P04' && sqlState(err) !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/** Replaces the database name of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The `migrate` command of a service whose migrations are in `dir`. */
export const migrationsCommand =
  (dir: string) =>
  (config: { DATABASE_URL: string }, logger: Logger): Promise<void> =>
    migrateDatabase(config.DATABASE_URL, dir, logger);

/**
 * Ends a pool without waiting past `timeoutMs`. `pool.end()` waits for every connection to say
 * goodbye; when the database went away without closing them (its pod deleted, its node gone),
 * that wait lasts until TCP gives up, minutes past any grace period, and the kubelet SIGKILLs the
 * service. The process exits right after its stop, which closes the sockets anyway.
 */
export async function endPool(pool: pg.Pool, logger?: Logger, timeoutMs = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    pool.end().then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (gaveUp)
    logger?.warn(
      { ...whereTo(pool), timeoutMs },
      'database connections did not close in time; leaving them',
    );
}

/** Runs a service's migrations on a short-lived pool: the `migrate` command and init containers. */
export async function migrateDatabase(
  url: string,
  dir: string,
  logger?: Logger,
  wait: WaitOptions = {},
): Promise<void> {
  const pool = createPool(url, 2);
  try {
    await migrate(pool, dir, logger, wait);
  } finally {
    await endPool(pool, logger);
  }
}

/** Readiness check: the pool reaches its database. */
export const databaseCheck =
  (pool: pg.Pool): (() => Promise<void>) =>
  async () => {
    await pool.query('SELECT 1');
  };
