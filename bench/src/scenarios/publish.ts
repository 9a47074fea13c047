import { performance } from 'node:perf_hooks';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  connectNats,
  createLogger,
  createMetricsRegistry,
  createPool,
  encodeEnvelope,
  ensureDatabase,
  ensureStreams,
  jsManager,
  migrate,
  subjects,
  withDatabase,
} from '@orderflow/platform';
import {
  PgEventStore,
  PipelinedJetStream,
  Publisher,
  migrationsDir,
  type RecordedEvent,
} from '@orderflow/eventstore';
import { orderCreated } from '../payload';
import { log, round, type ResultRow } from '../stats';
import type { Infra } from './append';

const BATCH = 500; // the relay's default RELAY_BATCH_SIZE: publishes in flight before the acks are awaited

/**
 * publish: how fast the relay moves committed events from the outbox to JetStream. The outbox is
 * filled with N committed events while publishing is off (a PgEventStore with no afterCommit
 * hook), then `Publisher.relayOnce` runs until the outbox is empty. Baseline: raw JetStream
 * publishing of the same envelopes and headers with acks, BATCH in flight at a time.
 */
export async function publishScenario(infra: Infra, n = 20_000): Promise<ResultRow[]> {
  await ensureDatabase(infra.adminUrl, 'bench_publish');
  const pool = createPool(withDatabase(infra.adminUrl, 'bench_publish'), 10);
  const logger = createLogger('bench', 'warn');
  // The event store's connection settings (no async stack traces), for the relay and the baseline alike.
  const nc = await connectNats(infra.natsUrl, logger, 'bench-publish', { noAsyncTraces: true });
  try {
    await migrate(pool, migrationsDir);
    const jsm = await jsManager(nc);
    await ensureStreams(jsm, { name: 'BENCH_PUBLISH', replicas: 1 });
    const store = new PgEventStore(pool); // no afterCommit: nothing is published inline
    const fill = async (count: number): Promise<RecordedEvent[]> => {
      const out: RecordedEvent[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next++ < count) {
            const e = orderCreated();
            const r = await store.append({
              streamId: `order-${e.orderId}`,
              expectedVersion: -1,
              events: [
                { eventId: e.eventId, eventType: e.eventType, data: e.data, metadata: e.metadata },
              ],
            });
            out.push(...r.recorded);
          }
        }),
      );
      return out;
    };
    const publisher = new Publisher(
      nc,
      pool,
      { relayIntervalMs: 60_000, relayGraceMs: 0, relayBatchSize: BATCH, maxInFlight: 10_000 },
      logger,
      createMetricsRegistry('bench'),
    );
    const relayAll = async (): Promise<number> => {
      let moved = 0;
      for (let k; (k = await publisher.relayOnce(0)) > 0;) moved += k;
      return moved;
    };
    const js = jetstream(nc, { timeout: 5_000 });
    const own = new PipelinedJetStream(nc, 5_000);
    const headersOf = (e: RecordedEvent) => {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(e.metadata)) h.set(k, v);
      h.set('Orderflow-Event-Type', e.eventType);
      h.set('Orderflow-Stream-Id', e.streamId);
      h.set('Orderflow-Version', String(e.version));
      return h;
    };
    /**
     * The baseline: the JetStream client's own `publish` (nats.js), BATCH in flight. With
     * `viaOwnPublisher`, the same through the relay's ack handling (PipelinedJetStream) without
     * the outbox: what the database side of the relay costs, shown next to the baseline.
     */
    const rawPublish = async (events: RecordedEvent[], viaOwnPublisher = false): Promise<void> => {
      for (let i = 0; i < events.length; i += BATCH) {
        await Promise.all(
          events.slice(i, i + BATCH).map((e) =>
            viaOwnPublisher
              ? own.publish(subjects.event(e.eventType), encodeEnvelope(e), e.eventId, headersOf(e))
              : js.publish(subjects.event(e.eventType), encodeEnvelope(e), {
                  msgID: e.eventId,
                  headers: headersOf(e),
                }),
          ),
        );
      }
    };

    // Warm-up: a small fill, relayed; a small raw publish.
    await fill(2_000);
    await relayAll();
    // The raw baseline publishes copies with fresh ids (JetStream would drop repeated ids).
    const copies = (events: RecordedEvent[]): RecordedEvent[] =>
      events.map((e) => ({ ...e, eventId: orderCreated().eventId }));

    log(`publish: filling the outbox with ${n} committed events (publishing off)`);
    const committed = await fill(n);
    const timeRaw = async (viaOwnPublisher = false): Promise<number> => {
      const events = copies(committed);
      const t = performance.now();
      await rawPublish(events, viaOwnPublisher);
      return events.length / ((performance.now() - t) / 1000);
    };
    await rawPublish(copies(committed.slice(0, 2_000))); // warm-up
    // The baseline runs before and after the relay (the mean of both): the machine's state
    // (checkpoints after the fill, the stream's growth) then weighs on both sides alike.
    const rawBefore = await timeRaw();
    const t0 = performance.now();
    const moved = await relayAll();
    await publisher.stop(); // the last outbox deletes are part of the work
    const relaySeconds = (performance.now() - t0) / 1000;
    const rawAfter = await timeRaw();
    const rawRate = (rawBefore + rawAfter) / 2;
    await rawPublish(copies(committed.slice(0, 2_000)), true); // warm-up
    const ownRate = await timeRaw(true);
    own.close();
    log(
      `publish: raw JetStream before the relay ${Math.round(rawBefore)}/s, after ${Math.round(rawAfter)}/s`,
    );

    const relayRate = moved / relaySeconds;
    const row: ResultRow = {
      scenario: 'publish',
      metric: 'events_per_s',
      value: Math.round(relayRate),
      baseline: Math.round(rawRate),
      baseline_name: `raw JetStream publish with acks, ${BATCH} in flight`,
      ratio: round(relayRate / rawRate, 2),
      events: moved,
    };
    const ownRow: ResultRow = {
      scenario: 'publish',
      metric: 'events_per_s_vs_same_publisher_without_outbox',
      value: row.value,
      baseline: Math.round(ownRate),
      baseline_name: `the relay's own publisher (PipelinedJetStream) with no database, ${BATCH} in flight`,
      ratio: round(relayRate / ownRate, 2),
    };
    log(
      `publish: relay moved ${moved} events in ${round(relaySeconds, 2)} s = ${row.value}/s | raw JetStream ${row.baseline}/s | ratio ${row.ratio} | the relay's publisher without the outbox ${ownRow.baseline}/s (ratio ${ownRow.ratio})`,
    );
    return [row, ownRow];
  } finally {
    await nc.drain().catch(() => undefined);
    await pool.end();
  }
}
