import type {
  EventStoreServiceImplementation,
  ReadAllRequest,
  ReadStreamRequest,
} from '@orderflow/proto';
import type { GrpcServerMetrics, Registry } from '@orderflow/platform';
import type { PgEventStore } from './adapters/pg-event-store';
import type { RecordedEvent } from './domain/append';
import { appender } from './grpc/append';
import { appendToStreams } from './grpc/append-streams';
import { toServerError } from './grpc/errors';

export { STREAMED_APPENDS_IN_FLIGHT } from './grpc/append-streams';

const toWire = (e: RecordedEvent) => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: e.data,
  metadata: e.metadata,
  createdAt: e.createdAt,
});

export interface ServiceOptions {
  /** RED metrics of the gRPC server: each streamed append counts as one AppendToStream. */
  grpcMetrics: GrpcServerMetrics;
  /** Errors that are not the store's own, logged once (they leave as INTERNAL). */
  onUnexpected: (err: unknown, method: string) => void;
  /** Aborted when the server stops: AppendToStreams calls answer what they read, then end. */
  stopping: AbortSignal;
}

/** The EventStore gRPC service over the store: errors leave as gRPC status, mapped once. */
export function eventStoreService(
  store: PgEventStore,
  registry: Registry,
  opts: ServiceOptions,
): EventStoreServiceImplementation {
  const appends = appender(store, registry, opts);
  return {
    appendToStream: (req, ctx) => appends.appendOnce(req, ctx.signal),
    appendToStreams: appendToStreams(store, appends, opts.stopping),
    async readStream(req: ReadStreamRequest) {
      try {
        const r = await store.readStream(req.streamId, req.fromVersion, req.maxCount);
        return { events: r.events.map(toWire), lastVersion: r.lastVersion };
      } catch (err: unknown) {
        throw toServerError(err);
      }
    },
    async readAll(req: ReadAllRequest) {
      try {
        const r = await store.readAll(req.after, req.maxCount);
        return { events: r.events.map(toWire), next: r.next };
      } catch (err: unknown) {
        throw toServerError(err);
      }
    },
  };
}
