import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { eventHeaders, recordedEventOfRow, type EventRow } from '@orderflow/contracts';
import {
  SpanKind,
  counter,
  encodeEnvelope,
  extractTraceContext,
  gauge,
  histogram,
  injectTraceContext,
  subjects,
  withSpan,
  type Logger,
  type Registry,
} from '@orderflow/platform';
import type { RecordedEvent } from '../domain/append';
import { PipelinedJetStream } from './jetstream-publish';
import { OutboxDeletes } from './outbox-deletes';

export interface PublisherOptions {
  relayIntervalMs: number;
  /** The relay leaves rows younger than this to the in-process publisher. */
  relayGraceMs: number;
  relayBatchSize: number;
  /** Publishes awaiting a JetStream ack at once (pipelining bound). */
  maxInFlight: number;
}

/**
 * Publishes committed events to JetStream with `Nats-Msg-Id` = event id (JetStream dedupes
 * within its duplicate window), right after commit; a relay re-publishes whatever is still in
 * the outbox after a grace period (a crash between commit and publish, NATS down). No committed
 * event is ever left unpublished; a duplicate publish is harmless.
 */
export class Publisher {
  private readonly js: PipelinedJetStream;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deletes: OutboxDeletes;
  private relayTimer: NodeJS.Timeout | undefined;
  private relaying: Promise<void> | undefined;
  private readonly publishingIds = new Set<string>();
  private readAhead: Promise<RecordedEvent[]> | undefined;
  private stopped = false;
  private readonly published;
  private readonly failures;
  private readonly deferred;
  private readonly latency;
  private readonly metricsOf: Record<
    'inline' | 'relay',
    {
      published: { inc(): void };
      latency: { startTimer(): () => void };
    }
  >;

  constructor(
    nc: NatsConnection,
    private readonly pool: Pool,
    private readonly opts: PublisherOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.js = new PipelinedJetStream(nc, 5_000);
    this.deletes = new OutboxDeletes(pool, logger);
    this.deferred = counter(registry, {
      name: 'orderflow_eventstore_publish_deferred_total',
      help: 'Committed events not published inline because PUBLISH_MAX_IN_FLIGHT publishes were in flight (back-pressure); the relay publishes them.',
    });
    this.published = counter(registry, {
      name: 'orderflow_eventstore_published_total',
      help: 'Events published to JetStream, by path (inline after commit, or relay).',
      labelNames: ['path'] as const,
    });
    this.failures = counter(registry, {
      name: 'orderflow_eventstore_publish_failures_total',
      help: 'Publish attempts that failed (the relay retries them).',
      labelNames: ['path'] as const,
    });
    this.latency = histogram(registry, {
      name: 'orderflow_eventstore_publish_duration_seconds',
      help: 'Time from publish to JetStream acknowledgement.',
      labelNames: ['path'] as const,
    });
    // Label children bound once: a publish costs no label look-up.
    this.metricsOf = {
      inline: {
        published: this.published.labels({ path: 'inline' }),
        latency: this.latency.labels({ path: 'inline' }),
      },
      relay: {
        published: this.published.labels({ path: 'relay' }),
        latency: this.latency.labels({ path: 'relay' }),
      },
    };
    gauge(registry, {
      name: 'orderflow_eventstore_outbox_backlog',
      help: 'Committed events not yet acknowledged by JetStream.',
      collect: async function () {
        const r = await pool.query<{ n: number }>('SELECT count(*)::INT8 AS n FROM outbox');
        this.set(r.rows[0]?.n ?? 0);
      },
    });
    gauge(registry, {
      name: 'orderflow_eventstore_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished event (0 when the outbox is empty).',
      collect: async function () {
        const r = await pool.query<{ age: number | null }>(
          'SELECT EXTRACT(EPOCH FROM (now() - MIN(created_at)))::FLOAT8 AS age FROM outbox',
        );
        this.set(Math.max(0, r.rows[0]?.age ?? 0));
      },
    });
  }

  /** Publishes just-committed events (in version order) without blocking the caller. */
  publishCommitted(events: RecordedEvent[]): void {
    if (this.inFlight.size >= this.opts.maxInFlight) {
      // Back-pressure: the outbox holds these, the relay publishes them after its grace period.
      this.deferred.inc(events.length);
      return;
    }
    // On the next turn of the event loop: the appends' answers, resolved in this turn, go out
    // first, and a group's publishes do not add their CPU time to its appends' latency.
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.publishAll(events, 'inline'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async publishAll(events: RecordedEvent[], path: 'inline' | 'relay'): Promise<void> {
    // All publishes go out before any ack is awaited: NATS keeps their order on one connection.
    const results = await Promise.allSettled(events.map((e) => this.publishOne(e, path)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') this.deletes.queue(events[i]!.eventId);
      else {
        this.failures.inc({ path });
        this.logger.warn(
          { err: String(r.reason), eventId: events[i]!.eventId, path },
          'publish failed; the relay retries',
        );
      }
    });
  }

  /**
   * One PRODUCER span per publish, a child of the trace context stored with the event (so a relay
   * publish after a crash still joins the order's trace); the headers carry that span's context,
   * which consumers continue (headers win over the stored metadata in platform/consumer.ts).
   */
  private async publishOne(e: RecordedEvent, path: 'inline' | 'relay'): Promise<void> {
    const subject = subjects.event(e.eventType);
    await withSpan(
      `publish ${e.eventType}`,
      {
        kind: SpanKind.PRODUCER,
        parent: extractTraceContext(e.metadata),
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'publish',
          'messaging.destination.name': subject,
          'messaging.message.id': e.eventId,
          'orderflow.event_type': e.eventType,
          'orderflow.stream_id': e.streamId,
          'orderflow.version': e.version,
          'orderflow.publish_path': path,
        },
      },
      async () => {
        // A fresh header set with distinct keys: `append` (`set` first searches for the key to
        // replace, for every key, which showed in profiles of the relay).
        const h = natsHeaders();
        for (const [k, v] of Object.entries(injectTraceContext({ ...e.metadata }))) h.append(k, v);
        h.append(eventHeaders.eventType, e.eventType);
        h.append(eventHeaders.streamId, e.streamId);
        h.append(eventHeaders.version, String(e.version));
        const m = this.metricsOf[path];
        const end = m.latency.startTimer();
        await this.js.publish(subject, encodeEnvelope(e), e.eventId, h);
        end();
        m.published.inc();
      },
    );
  }

  /**
   * Reads the next relay batch: the oldest outbox rows past the grace period, without those being
   * published or whose delete is on its way (taken before the query: a delete that commits while
   * the query runs may or may not hide its rows).
   */
  private async selectBatch(graceMs: number): Promise<RecordedEvent[]> {
    void this.deletes.flush();
    const skip = new Set([...this.deletes.pending(), ...this.publishingIds]);
    // The skipped ids are filtered in the query, so only the rows to publish are sent and parsed.
    const rows = await this.pool.query<EventRow>({
      name: 'eventstore-relay-select',
      text: `SELECT e.event_id, e.stream_id, e.version, e.event_type, e.data, e.metadata, e.created_at
       FROM outbox o JOIN events e ON e.event_id = o.event_id
       WHERE o.created_at < now() - ($1::INT8 * INTERVAL '1 millisecond')
         AND NOT (o.event_id = ANY($3::UUID[]))
       ORDER BY o.created_at, e.stream_id, e.version
       LIMIT $2`,
      values: [graceMs, this.opts.relayBatchSize, [...skip]],
    });
    return rows.rows.map(recordedEventOfRow);
  }

  /**
   * One relay pass; returns how many events it published. When a pass finds a full batch, the
   * next batch is read while this one is published (a backlog drains without waiting on the
   * database between batches). A row read ahead may have been published inline meanwhile: then
   * it goes out twice, which JetStream's dedupe (Nats-Msg-Id) absorbs.
   */
  async relayOnce(graceMs = this.opts.relayGraceMs): Promise<number> {
    const ahead = this.readAhead;
    this.readAhead = undefined;
    const batch = await (ahead ?? this.selectBatch(graceMs));
    if (batch.length === 0) return 0;
    for (const e of batch) this.publishingIds.add(e.eventId);
    if (batch.length === this.opts.relayBatchSize && !this.stopped) {
      const next = this.selectBatch(graceMs);
      next.catch(() => undefined); // reported by the pass that uses it
      this.readAhead = next;
    }
    try {
      await this.publishAll(batch, 'relay');
    } finally {
      for (const e of batch) this.publishingIds.delete(e.eventId);
    }
    // The delete goes on in the background; the next pass does not wait for it.
    void this.deletes.flush();
    this.logger.info({ count: batch.length }, 'relay published events left in the outbox');
    return batch.length;
  }

  startRelay(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.relaying = (async () => {
        try {
          // Drain a backlog in consecutive batches, then wait for the next tick.
          while (!this.stopped && (await this.relayOnce()) === this.opts.relayBatchSize);
        } catch (err: unknown) {
          this.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'relay pass failed',
          );
        }
      })();
      void this.relaying.finally(() => {
        if (!this.stopped) this.relayTimer = setTimeout(tick, this.opts.relayIntervalMs);
      });
    };
    this.relayTimer = setTimeout(tick, this.opts.relayIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relayTimer);
    await this.relaying;
    await this.readAhead?.catch(() => undefined);
    this.readAhead = undefined;
    await Promise.allSettled([...this.inFlight]);
    await this.deletes.flush();
    this.js.close();
  }
}
