import { getPostgreSQLEventStore, STREAM_DOES_NOT_EXIST } from './emmett';
import pg from 'pg';
import { createPool, ensureDatabase, migrate, withDatabase } from '@orderflow/platform';
import { PgEventStore, migrationsDir } from '@orderflow/eventstore';
import { orderCreated } from '../payload';
import { log, measure, round, type ResultRow } from '../stats';
import type { Infra } from './append';

/**
 * peer: the same append workload in-process, through emmett-postgresql and through orderflow's
 * event store library (`PgEventStore`), on the same database server and the same Node.
 *
 * The Publisher relay is off on the orderflow side: emmett publishes to no broker, so this
 * compares the storage path alone. The outbox row is still written in the same transaction, so
 * orderflow does strictly more database work per append than emmett does.
 */
export async function peerScenario(infra: Infra, concurrencies = [1, 16]): Promise<ResultRow[]> {
  await ensureDatabase(infra.adminUrl, 'bench_peer_orderflow');
  await ensureDatabase(infra.adminUrl, 'bench_peer_emmett');
  const ofUrl = withDatabase(infra.adminUrl, 'bench_peer_orderflow');
  const emUrl = withDatabase(infra.adminUrl, 'bench_peer_emmett');
  const ofPool = createPool(ofUrl, 10); // the event store's default DATABASE_POOL_MAX
  await migrate(ofPool, migrationsDir);
  const store = new PgEventStore(ofPool);
  const emPool = new pg.Pool({ connectionString: emUrl, max: Math.max(...concurrencies) });
  const emmett = getPostgreSQLEventStore(emUrl, { connectionOptions: { pool: emPool } });
  await emmett.schema.migrate();
  const rows: ResultRow[] = [];
  try {
    for (const c of concurrencies) {
      const ours = await measure(
        c,
        () => {
          const e = orderCreated();
          return store.append({
            streamId: `order-${e.orderId}`,
            expectedVersion: -1,
            events: [
              { eventId: e.eventId, eventType: e.eventType, data: e.data, metadata: e.metadata },
            ],
          });
        },
        infra,
      );
      const theirs = await measure(
        c,
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
        infra,
      );
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
  } finally {
    await emmett.close().catch(() => undefined);
    await emPool.end().catch(() => undefined);
    await ofPool.end();
  }
  return rows;
}
