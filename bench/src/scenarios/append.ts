import {
  createEventStoreClient,
  createPool,
  withDatabase,
  ensureDatabase,
} from '@orderflow/platform';
import { freePort } from '@orderflow/testkit';
import { orderCreated, orderCreatedAppend } from '../payload';
import { spawnService, waitReady } from '../procs';
import { log, measureAlternating, round, type ResultRow } from '../stats';

export interface Infra {
  adminUrl: string;
  natsUrl: string;
  logDir: string;
  warmupMs: number;
  durationMs: number;
}

/** The raw baseline's table: the event store's `events` columns and the same unique keys. */
const RAW_TABLE = `CREATE TABLE IF NOT EXISTS raw_events (
  event_id UUID PRIMARY KEY,
  stream_id TEXT NOT NULL,
  version INT8 NOT NULL,
  event_type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}'::JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT raw_events_stream_version UNIQUE (stream_id, version)
)`;

/**
 * append: single-event appends to distinct new streams through the real gRPC event store (a
 * separate process: validation, group commit, outbox, publish to JetStream all included),
 * against a raw single-row INSERT of the same payload at the same concurrency on the same database.
 */
export async function appendScenario(
  infra: Infra,
  concurrencies = [1, 16, 64],
): Promise<ResultRow[]> {
  await ensureDatabase(infra.adminUrl, 'bench_append');
  const dbUrl = withDatabase(infra.adminUrl, 'bench_append');
  const grpcPort = await freePort();
  const opsPort = await freePort();
  const store = spawnService(
    'eventstore',
    {
      DATABASE_URL: dbUrl,
      NATS_URL: infra.natsUrl,
      NATS_STREAM: 'BENCH_APPEND',
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(opsPort),
    },
    infra.logDir,
  );
  const rows: ResultRow[] = [];
  const raw = createPool(dbUrl, Math.max(...concurrencies));
  // The platform's client, as every service uses it: appends streamed over one AppendToStreams
  // call. The same appends as unary AppendToStream calls are measured too, for comparison.
  const { client, close } = createEventStoreClient(`127.0.0.1:${grpcPort}`);
  const unary = createEventStoreClient(`127.0.0.1:${grpcPort}`, { streamAppends: false });
  try {
    await waitReady(`http://127.0.0.1:${opsPort}`);
    await raw.query(RAW_TABLE);
    for (const c of concurrencies) {
      const appendWith = (c: typeof client) => async () => {
        await c.appendToStream(orderCreatedAppend());
      };
      const r = await measureAlternating(
        c,
        {
          streamed: appendWith(client),
          unary: appendWith(unary.client),
          raw: async () => {
            const e = orderCreated();
            await raw.query(
              'INSERT INTO raw_events (event_id, stream_id, version, event_type, data, metadata) VALUES ($1, $2, 0, $3, $4, $5::JSONB)',
              [e.eventId, `order-${e.orderId}`, e.eventType, e.data, JSON.stringify(e.metadata)],
            );
          },
        },
        infra,
      );
      const { streamed: grpc, unary: grpcUnary, raw: base } = r;
      const row: ResultRow = {
        scenario: 'append',
        metric: 'events_per_s',
        concurrency: c,
        value: Math.round(grpc.perSecond),
        baseline: Math.round(base.perSecond),
        baseline_name: 'raw pg single-row INSERT',
        ratio: round(grpc.perSecond / base.perSecond, 2),
        p50_ms: grpc.p50,
        p99_ms: grpc.p99,
        baseline_p50_ms: base.p50,
        baseline_p99_ms: base.p99,
      };
      const unaryRow: ResultRow = {
        scenario: 'append',
        metric: 'events_per_s_unary_calls',
        concurrency: c,
        value: Math.round(grpcUnary.perSecond),
        baseline: row.baseline,
        baseline_name: row.baseline_name,
        ratio: round(grpcUnary.perSecond / base.perSecond, 2),
        p50_ms: grpcUnary.p50,
        p99_ms: grpcUnary.p99,
        baseline_p50_ms: base.p50,
        baseline_p99_ms: base.p99,
      };
      log(
        `append c=${c}: gRPC streamed ${row.value}/s p50 ${grpc.p50} ms p99 ${grpc.p99} ms | gRPC unary ${unaryRow.value}/s p50 ${grpcUnary.p50} p99 ${grpcUnary.p99} | raw INSERT ${row.baseline}/s p50 ${base.p50} p99 ${base.p99} | ratio ${row.ratio}`,
      );
      rows.push(row, unaryRow);
    }
    const backlog = await raw.query<{ n: number }>('SELECT count(*)::INT AS n FROM outbox');
    log(`append: outbox rows left right after the run: ${backlog.rows[0]?.n ?? 0}`);
  } finally {
    close();
    unary.close();
    await raw.end();
    await store.stop();
  }
  return rows;
}
