import { metadataKeys, type RecordedOrderEvent } from '@orderflow/events';
import { emptyHistory, type StreamHistory } from '@orderflow/platform';
import { LRUCache } from 'lru-cache';

/**
 * The order histories this saga replica has seen lately, so that handling the next event of an
 * order does not read its whole stream again. A stream only grows, one version after another, so
 * a history known up to version v-1 plus the message at version v is exactly the stream up to v:
 * the saga decides on it as it would on a read, and appends with expected version v, which the
 * store refuses when the stream has moved on (then it reads). Anything else (a gap, a message
 * handled out of order, a history dropped to stay under `capacity`) is a miss, and the saga reads.
 * Pure in-memory state; the saga's correctness never depends on it.
 */
export class KnownHistories {
  private readonly histories: LRUCache<string, StreamHistory>;

  constructor(capacity = 10_000) {
    this.histories = new LRUCache({ max: capacity });
  }

  /**
   * The history up to and including `e`, when the history before it is known (an order's first
   * event has an empty one); undefined otherwise.
   */
  extend(
    orderId: string,
    e: RecordedOrderEvent,
    metadata: Record<string, string>,
  ): StreamHistory | undefined {
    const before: StreamHistory | undefined =
      e.version === 0 ? emptyHistory() : this.histories.get(orderId);
    if (!before || before.lastVersion !== e.version - 1) return undefined;
    return {
      events: [...before.events, e],
      lastVersion: e.version,
      lastEventId: e.eventId,
      lastCorrelationId: metadata[metadataKeys.correlationId] ?? before.lastCorrelationId,
      skipped: before.skipped,
    };
  }

  /** Remembers a history (read from the store or extended), unless a longer one is known. */
  remember(orderId: string, history: StreamHistory): void {
    const known = this.histories.get(orderId);
    if (known && known.lastVersion >= history.lastVersion) return;
    this.histories.set(orderId, history);
  }

  forget(orderId: string): void {
    this.histories.delete(orderId);
  }

  get size(): number {
    return this.histories.size;
  }
}
