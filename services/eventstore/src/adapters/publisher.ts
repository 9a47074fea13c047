import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { gauge, type Logger, type Registry } from '@orderflow/platform';
import type { RecordedEvent } from '../domain/append';
import { PipelinedJetStream } from './jetstream-publish';
import { EventPublisher } from './publish/event-publisher';
import { InlinePublisher } from './publish/inline-publisher';
import { OutboxDeletes } from './publish/outbox-deletes';
import { OutboxRelay, type RelayOptions } from './publish/outbox-relay';

export interface PublisherOptions extends RelayOptions {
  /** Publishes awaiting a JetStream ack at once (pipelining bound). */
  maxInFlight: number;
}

function outboxGauges(registry: Registry, pool: Pool): void {
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

/**
 * Publishes committed events to JetStream with `Nats-Msg-Id` = event id (JetStream dedupes
 * within its duplicate window): right after commit (InlinePublisher), and again whatever is still
 * in the outbox after a grace period (OutboxRelay); acknowledged rows are deleted in batches
 * (OutboxDeletes). No committed event is ever left unpublished; a duplicate publish is harmless.
 */
export class Publisher {
  private readonly js: PipelinedJetStream;
  private readonly deletes: OutboxDeletes;
  private readonly inline: InlinePublisher;
  private readonly relay: OutboxRelay;

  constructor(
    nc: NatsConnection,
    pool: Pool,
    opts: PublisherOptions,
    logger: Logger,
    registry: Registry,
  ) {
    this.js = new PipelinedJetStream(nc, 5_000);
    this.deletes = new OutboxDeletes(pool, logger);
    const events = new EventPublisher(this.js, logger, registry, (id) => this.deletes.queue(id));
    this.inline = new InlinePublisher(events, opts.maxInFlight, registry);
    this.relay = new OutboxRelay(pool, events, this.deletes, opts, logger);
    outboxGauges(registry, pool);
  }

  /** Publishes just-committed events (in version order) without blocking the caller. */
  publishCommitted(events: RecordedEvent[]): void {
    this.inline.publishCommitted(events);
  }

  /** One relay pass (tests and the bench); returns how many events it published. */
  relayOnce(graceMs?: number): Promise<number> {
    return this.relay.relayOnce(graceMs);
  }

  startRelay(): void {
    this.relay.start();
  }

  async stop(): Promise<void> {
    await this.relay.stop();
    await this.inline.drain();
    await this.deletes.flush();
    this.js.close();
  }
}
