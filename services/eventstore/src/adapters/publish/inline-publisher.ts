import { counter, type Registry } from '@orderflow/platform';
import type { RecordedEvent } from '../../domain/append';
import type { EventPublisher } from './event-publisher';

/**
 * The publisher's first job: publish just-committed events at once, without blocking the append
 * that committed them. At most `maxInFlight` groups are on their way; past that an event is left
 * to the relay (it is in the outbox), and counted, never dropped silently.
 */
export class InlinePublisher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deferred;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly maxInFlight: number,
    registry: Registry,
  ) {
    this.deferred = counter(registry, {
      name: 'orderflow_eventstore_publish_deferred_total',
      help: 'Committed events not published inline because PUBLISH_MAX_IN_FLIGHT publishes were in flight (back-pressure); the relay publishes them.',
    });
  }

  publishCommitted(events: RecordedEvent[]): void {
    if (this.inFlight.size >= this.maxInFlight) {
      this.deferred.inc(events.length);
      return;
    }
    // On the next turn of the event loop: the appends' answers, resolved in this turn, go out
    // first, and a group's publishes do not add their CPU time to its appends' latency.
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.publisher.publishAll(events, 'inline'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Waits for the publishes on their way. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
