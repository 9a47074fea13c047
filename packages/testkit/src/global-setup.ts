import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startPostgres, type PostgresServer } from './postgres';

const stateFile = join(tmpdir(), `orderflow-jest-${process.pid}.json`);
let server: PostgresServer | undefined;

/** Jest global setup: one PostgreSQL for the whole run (test files create their own databases). */
export async function globalSetup(): Promise<void> {
  server = await startPostgres();
  process.env['ORDERFLOW_TEST_PG_URL'] = server.url;
  writeFileSync(stateFile, JSON.stringify({ url: server.url }));
}

export async function globalTeardown(): Promise<void> {
  await server?.stop('immediate');
}
