import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDatabase, withDatabase } from '@orderflow/platform';
import { log, round, type LoadResult, type ResultRow } from '../stats';
import type { Infra } from './append';

const run = promisify(execFile);

/**
 * peer: the same append workload (single-event appends to new streams) in-process, through
 * emmett-postgresql and through orderflow's event store library (`PgEventStore`), on the same
 * database server and the same Node. Each side runs in its own process (see peer-side.ts).
 *
 * The Publisher relay is off on the orderflow side: emmett publishes to no broker, so this
 * compares the storage path alone. The outbox row is still written in the same transaction, so
 * orderflow does strictly more database work per append than emmett does.
 */
export async function peerScenario(infra: Infra, concurrencies = [1, 16]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const side = async (name: 'orderflow' | 'emmett', c: number): Promise<LoadResult> => {
    const db = `bench_peer_${name}`;
    await ensureDatabase(infra.adminUrl, db);
    const { stdout } = await run(
      process.execPath,
      [
        join(__dirname, '..', 'peer-side.js'),
        name,
        String(c),
        String(infra.warmupMs),
        String(infra.durationMs),
        withDatabase(infra.adminUrl, db),
      ],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as LoadResult;
  };
  for (const c of concurrencies) {
    const ours = await side('orderflow', c);
    const theirs = await side('emmett', c);
    const row: ResultRow = {
      scenario: 'peer',
      metric: 'events_per_s',
      concurrency: c,
      value: Math.round(ours.perSecond),
      baseline: Math.round(theirs.perSecond),
      baseline_name: 'emmett-postgresql 0.42.0',
      ratio: round(ours.perSecond / theirs.perSecond, 2),
      p50_ms: ours.p50,
      p99_ms: ours.p99,
      baseline_p50_ms: theirs.p50,
      baseline_p99_ms: theirs.p99,
    };
    log(
      `peer c=${c}: orderflow PgEventStore ${row.value}/s p50 ${ours.p50} p99 ${ours.p99} | emmett ${row.baseline}/s p50 ${theirs.p50} p99 ${theirs.p99} | ratio ${row.ratio}`,
    );
    rows.push(row);
  }
  return rows;
}
