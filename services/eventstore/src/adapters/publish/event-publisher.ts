import { headers as natsHeaders } from '@nats-io/transport-node';
import { eventHeaders, subjects } from '@orderflow/contracts';
import {
  SpanKind,
  counter,
  encodeEnvelope,
  extractTraceContext,
  histogram,
  injectTraceContext,
  withSpan,
  type Logger,
  type Registry,
} from '@orderflow/platform';
import type { RecordedEvent } from '../../domain/append';
import type { PipelinedJetStream } from '../jetstream-publish';

export type PublishPath = 'inline' | 'relay';

/**
 * What the inline publisher and the relay share: one PRODUCER span per event, the envelope and
 * headers, the JetStream publish with `Nats-Msg-Id` = event id, and the metrics;
 * `acknowledged` hears every event JetStream acknowledged (its outbox row may go).
 */
export class EventPublisher {
  private readonly failures;
  private readonly metricsOf: Record<
    PublishPath,
    { published: { inc(): void }; latency: { startTimer(): () => void } }
  >;

  constructor(
    private readonly js: PipelinedJetStream,
    private readonly logger: Logger,
    registry: Registry,
    private readonly acknowledged: (eventId: string) => void,
  ) {
    const published = counter(registry, {
      name: 'orderflow_eventstore_published_total',
      help: 'Events published to JetStream, by path (inline after commit, or relay).',
      labelNames: ['path'] as const,
    });
    this.failures = counter(registry, {
      name: 'orderflow_eventstore_publish_failures_total',
      help: 'Publish attempts that failed (the relay retries them).',
      labelNames: ['path'] as const,
    });
    const latency = histogram(registry, {
      name: 'orderflow_eventstore_publish_duration_seconds',
      help: 'Time from publish to JetStream acknowledgement.',
      labelNames: ['path'] as const,
    });
    // Label children bound once: a publish costs no label look-up.
    const bound = (path: PublishPath) => ({
      published: published.labels({ path }),
      latency: latency.labels({ path }),
    });
    this.metricsOf = { inline: bound('inline'), relay: bound('relay') };
  }

  /** Publishes events (in version order); a failed one is logged and left to the relay. */
  async publishAll(events: RecordedEvent[], path: PublishPath): Promise<void> {
    // All publishes go out before any ack is awaited: NATS keeps their order on one connection.
    const results = await Promise.allSettled(events.map((e) => this.publishOne(e, path)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') this.acknowledged(events[i]!.eventId);
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
   * which consumers continue (headers win over the stored metadata in the platform's consumer).
   */
  private async publishOne(e: RecordedEvent, path: PublishPath): Promise<void> {
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
}
