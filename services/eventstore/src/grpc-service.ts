import { ServerError, Status } from 'nice-grpc';
import type {
  AppendToStreamRequest,
  AppendToStreamResponse,
  DeepPartial,
  EventStoreServiceImplementation,
  ReadAllRequest,
  ReadAllResponse,
  ReadStreamRequest,
  ReadStreamResponse,
} from '@orderflow/proto';
import { RetriesExhaustedError, counter, withSpan, type Registry } from '@orderflow/platform';
import type { PgEventStore } from './adapters/pg-event-store';
import type { RecordedEvent } from './domain/append';
import { StoreError, type StoreErrorCode } from './domain/errors';

const statusOf: Record<StoreErrorCode, Status> = {
  'invalid-argument': Status.INVALID_ARGUMENT,
  'version-conflict': Status.FAILED_PRECONDITION,
  'event-id-conflict': Status.ALREADY_EXISTS,
  unavailable: Status.UNAVAILABLE,
};

/** Maps the store's typed errors to gRPC status, once, at the edge. */
function toServerError(err: unknown): unknown {
  if (err instanceof StoreError) return new ServerError(statusOf[err.code], err.message);
  if (err instanceof RetriesExhaustedError)
    return new ServerError(Status.ABORTED, 'transaction contention; retry');
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const code = (err as { code: string }).code;
    // Connection failures and admin shutdowns: the database is unavailable for now.
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|57P0[1-3]|08\d\d\d)$/.test(code))
      return new ServerError(Status.UNAVAILABLE, 'database unavailable');
  }
  if (
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)
  )
    return new ServerError(Status.UNAVAILABLE, 'database unavailable');
  return err;
}

const toWire = (e: RecordedEvent) => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: e.data,
  metadata: e.metadata,
  createdAt: e.createdAt,
});

export function eventStoreService(
  store: PgEventStore,
  registry: Registry,
): EventStoreServiceImplementation {
  const appends = counter(registry, {
    name: 'orderflow_eventstore_appends_total',
    help: 'AppendToStream calls by result (ok, duplicate, conflict, invalid, error).',
    labelNames: ['result'] as const,
  });
  const appended = counter(registry, {
    name: 'orderflow_eventstore_events_appended_total',
    help: 'Events written.',
  });
  const conflicts = counter(registry, {
    name: 'orderflow_eventstore_version_conflicts_total',
    help: 'Appends refused because the stream was not at the expected version.',
  });
  return {
    async appendToStream(
      req: AppendToStreamRequest,
      ctx,
    ): Promise<DeepPartial<AppendToStreamResponse>> {
      try {
        const r = await withSpan(
          'eventstore append',
          {
            attributes: {
              'db.system.name': 'postgresql',
              'orderflow.stream_id': req.streamId,
              'orderflow.expected_version': req.expectedVersion,
              'orderflow.event_count': req.events.length,
            },
          },
          async (span) => {
            const result = await store.append(
              { streamId: req.streamId, expectedVersion: req.expectedVersion, events: req.events },
              ctx.signal,
            );
            span.setAttribute('orderflow.duplicate', result.duplicate);
            return result;
          },
        );
        appends.inc({ result: r.duplicate ? 'duplicate' : 'ok' });
        appended.inc(r.recorded.length);
        return { nextExpectedVersion: r.nextExpectedVersion, duplicate: r.duplicate };
      } catch (err: unknown) {
        if (err instanceof StoreError && err.code === 'version-conflict') {
          conflicts.inc();
          appends.inc({ result: 'conflict' });
        } else if (err instanceof StoreError && err.code === 'invalid-argument')
          appends.inc({ result: 'invalid' });
        else appends.inc({ result: 'error' });
        throw toServerError(err);
      }
    },
    async readStream(req: ReadStreamRequest): Promise<DeepPartial<ReadStreamResponse>> {
      try {
        const r = await store.readStream(req.streamId, req.fromVersion, req.maxCount);
        return { events: r.events.map(toWire), lastVersion: r.lastVersion };
      } catch (err: unknown) {
        throw toServerError(err);
      }
    },
    async readAll(req: ReadAllRequest): Promise<DeepPartial<ReadAllResponse>> {
      try {
        const r = await store.readAll(req.after, req.maxCount);
        return { events: r.events.map(toWire), next: r.next };
      } catch (err: unknown) {
        throw toServerError(err);
      }
    },
  };
}
