import { InvalidEventError, metadataKeys, parseStoredEvent } from '@orderflow/events';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { ClientError, Status } from './grpc';
import type { EventStreams, StreamHistory } from './application/event-streams';
import { VersionConflict } from './application/event-streams';

/** The events of a read that the catalogue knows; the others are counted as skipped. */
export function historyOf(events: readonly RecordedEvent[], lastVersion: number): StreamHistory {
  const known: StreamHistory['events'] = [];
  let skipped = 0;
  for (const e of events) {
    try {
      known.push({
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
  const last = events[events.length - 1];
  return {
    events: known,
    lastVersion,
    lastEventId: last?.eventId,
    lastCorrelationId: last?.metadata[metadataKeys.correlationId],
    skipped,
  };
}

/** EventStreams over the event store's gRPC API: FAILED_PRECONDITION is a VersionConflict. */
export function grpcEventStreams(client: EventStoreClient): EventStreams {
  return {
    async read(streamId, signal) {
      const r = await client.readStream({ streamId, fromVersion: 0, maxCount: 0 }, { signal });
      return historyOf(r.events, r.lastVersion);
    },
    async append(streamId, expectedVersion, events, metadata, signal) {
      try {
        const r = await client.appendToStream(
          {
            streamId,
            expectedVersion,
            events: events.map((e) => ({
              eventId: e.eventId,
              eventType: e.event.type,
              data: JSON.stringify(e.event.data),
              metadata,
            })),
          },
          { signal },
        );
        return { duplicate: r.duplicate, nextExpectedVersion: r.nextExpectedVersion };
      } catch (err: unknown) {
        if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION)
          throw new VersionConflict(streamId, expectedVersion, err.details);
        throw err;
      }
    },
  };
}
