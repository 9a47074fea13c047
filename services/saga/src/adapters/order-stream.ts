import {
  InvalidEventError,
  SCHEMA_VERSION,
  deterministicEventId,
  metadataKeys,
  orderStreamId,
  parseStoredEvent,
} from '@orderflow/events';
import { ClientError, Status, injectTraceContext } from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';
import type { RecordedOrderEvent, SagaEvent } from '../domain/workflow';

export const PRODUCER = 'saga';

export interface OrderHistory {
  events: RecordedOrderEvent[];
  /** The stream's last version (-1 when it does not exist): the expected version of the saga's append. */
  lastVersion: number;
  /** Metadata of the last event read (correlation of a timeout's append). */
  lastEventId: string | undefined;
  lastCorrelationId: string | undefined;
  /** Stored events the catalogue does not know (left out of the fold). */
  skipped: number;
}

/** The event id of a saga decision (docs/flow.md): one refund request and one cancellation per order. */
export function sagaEventId(event: SagaEvent): string {
  switch (event.type) {
    case 'order-refund-requested':
      return deterministicEventId('refund-requested', event.data.orderId);
    case 'order-cancelled':
      return deterministicEventId('cancelled', event.data.orderId);
    default: {
      const never: never = event;
      throw new Error(`unexpected saga event ${JSON.stringify(never)}`);
    }
  }
}

export class VersionConflict extends Error {
  override name = 'VersionConflict';
}

/** Reads and appends an order's stream through the event store's gRPC API. */
export class OrderStreams {
  constructor(private readonly client: EventStoreClient) {}

  async read(orderId: string, signal?: AbortSignal): Promise<OrderHistory> {
    const r = await this.client.readStream(
      { streamId: orderStreamId(orderId), fromVersion: 0, maxCount: 0 },
      { signal },
    );
    const events: RecordedOrderEvent[] = [];
    let skipped = 0;
    for (const e of r.events) {
      try {
        events.push({
          event: parseStoredEvent(e.eventType, e.data, e.metadata),
          eventId: e.eventId,
          version: e.version,
          recordedAt: e.createdAt,
        });
      } catch (err: unknown) {
        if (!(err instanceof InvalidEventError)) throw err;
        skipped++;
      }
    }
    const last = r.events[r.events.length - 1];
    return {
      events,
      lastVersion: r.lastVersion,
      lastEventId: last?.eventId,
      lastCorrelationId: last?.metadata[metadataKeys.correlationId],
      skipped,
    };
  }

  /**
   * Appends the saga's events with the expected version it read. A concurrent append makes the
   * store answer FAILED_PRECONDITION: that is a VersionConflict (read again and decide again).
   */
  async append(
    orderId: string,
    expectedVersion: number,
    events: readonly SagaEvent[],
    cause: { eventId: string | undefined; correlationId: string | undefined },
  ): Promise<{ duplicate: boolean; nextExpectedVersion: number }> {
    const metadata = injectTraceContext({
      [metadataKeys.correlationId]: cause.correlationId ?? orderId,
      ...(cause.eventId ? { [metadataKeys.causationId]: cause.eventId } : {}),
      [metadataKeys.schemaVersion]: SCHEMA_VERSION,
      [metadataKeys.producer]: PRODUCER,
    });
    try {
      const r = await this.client.appendToStream({
        streamId: orderStreamId(orderId),
        expectedVersion,
        events: events.map((e) => ({
          eventId: sagaEventId(e),
          eventType: e.type,
          data: JSON.stringify(e.data),
          metadata,
        })),
      });
      return { duplicate: r.duplicate, nextExpectedVersion: r.nextExpectedVersion };
    } catch (err: unknown) {
      if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION)
        throw new VersionConflict(err.details);
      throw err;
    }
  }
}
