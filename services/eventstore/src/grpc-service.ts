import { ServerError, Status, type CallContext } from 'nice-grpc';
import type {
  AppendToStreamRequest,
  AppendToStreamResponse,
  AppendToStreamsRequest,
  AppendToStreamsResponse,
  DeepPartial,
  StreamedAppend,
  StreamedAppendResult,
  EventStoreServiceImplementation,
  ReadAllRequest,
  ReadAllResponse,
  ReadStreamRequest,
  ReadStreamResponse,
} from '@orderflow/proto';
import {
  AsyncQueue,
  RetriesExhaustedError,
  SpanKind,
  counter,
  extractTraceContext,
  serverAnswerOf,
  withSpan,
  type GrpcServerMetrics,
  type Registry,
} from '@orderflow/platform';
import type { PgEventStore } from './adapters/pg-event-store';
import type { RecordedEvent } from './domain/append';
import { StoreError, type StoreErrorCode } from './domain/errors';
import { UNSAFE_REQUEST_ID } from './wire';

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
    // Class 22 (data exception): a value validation let through that the database cannot store.
    if (/^22[0-9A-Z]{3}$/.test(code))
      return new ServerError(Status.INVALID_ARGUMENT, 'a value in the request cannot be stored');
  }
  if (
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)
  )
    return new ServerError(Status.UNAVAILABLE, 'database unavailable');
  return err;
}

const APPEND_STREAMS_PATH = '/orderflow.eventstore.v1.EventStore/AppendToStreams';

const toWire = (e: RecordedEvent) => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: e.data,
  metadata: e.metadata,
  createdAt: e.createdAt,
});

/** Unanswered appends one AppendToStreams call may have; reading pauses at this many. */
export const STREAMED_APPENDS_IN_FLIGHT = 1024;

export interface ServiceOptions {
  /** RED metrics of the gRPC server: each streamed append counts as one AppendToStream. */
  grpcMetrics: GrpcServerMetrics;
  /** Errors that are not the store's own, logged once (they leave as INTERNAL). */
  onUnexpected: (err: unknown, method: string) => void;
  /** Aborted when the server stops: AppendToStreams calls answer what they read, then end. */
  stopping: AbortSignal;
}

export function eventStoreService(
  store: PgEventStore,
  registry: Registry,
  opts: ServiceOptions,
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
  const appendsOk = appends.labels({ result: 'ok' });
  const appendsDuplicate = appends.labels({ result: 'duplicate' });
  const conflicts = counter(registry, {
    name: 'orderflow_eventstore_version_conflicts_total',
    help: 'Appends refused because the stream was not at the expected version.',
  });

  /** One append, unary or streamed: the store's answer, or a ServerError (or an unexpected error). */
  async function appendOnce(
    req: AppendToStreamRequest,
    signal: AbortSignal,
  ): Promise<AppendToStreamResponse> {
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
            signal,
          );
          span.setAttribute('orderflow.duplicate', result.duplicate);
          return result;
        },
      );
      (r.duplicate ? appendsDuplicate : appendsOk).inc();
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
  }

  /** One streamed append, with the span and metrics the unary call gets from the middleware. */
  async function streamedAppend(
    req: StreamedAppend,
    signal: AbortSignal,
  ): Promise<DeepPartial<StreamedAppendResult>> {
    const end = opts.grpcMetrics.start('AppendToStream');
    let code = Status.OK;
    try {
      const result = await withSpan(
        'grpc.server AppendToStream',
        {
          kind: SpanKind.SERVER,
          parent: extractTraceContext(req.traceContext),
          attributes: { 'rpc.system': 'grpc', 'rpc.method': APPEND_STREAMS_PATH },
        },
        () => {
          if (UNSAFE_REQUEST_ID in req)
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              'request_id: must be at most 2^53 - 1 (this answer carries request_id 0)',
            );
          if (!req.append) throw new ServerError(Status.INVALID_ARGUMENT, 'append: required');
          return appendOnce(req.append, signal);
        },
      );
      return { requestId: req.requestId, result };
    } catch (err: unknown) {
      const answer = serverAnswerOf(err, 'AppendToStreams', opts.onUnexpected);
      code = answer.code;
      return { requestId: req.requestId, error: { code, message: answer.details } };
    } finally {
      end(code);
    }
  }

  return {
    appendToStream: (req, ctx) => appendOnce(req, ctx.signal),

    /**
     * Reads requests and starts each append at once (they meet in the store's group commit),
     * answering in completion order. Reading pauses at STREAMED_APPENDS_IN_FLIGHT unanswered
     * appends, and stops when the client ends its side or the server stops; the call ends once
     * every append read has been answered.
     */
    async *appendToStreams(
      requests: AsyncIterable<AppendToStreamsRequest>,
      ctx: CallContext,
    ): AsyncGenerator<DeepPartial<AppendToStreamsResponse>, void, undefined> {
      const answers = new AsyncQueue<DeepPartial<AppendToStreamsResponse>>();
      // Answers resolved together (a group commit resolves its appends at once) go out together
      // in one response.
      let ready: DeepPartial<StreamedAppendResult>[] = [];
      let inFlight = 0;
      let reading = true;
      let freed: (() => void) | undefined;
      const flush = (): void => {
        const results = ready;
        ready = [];
        if (results.length > 0 && !answers.isEnded) answers.push({ results });
        if (!reading && inFlight === 0 && !answers.isEnded) answers.end();
      };
      const answered = (result: DeepPartial<StreamedAppendResult>): void => {
        inFlight--;
        // A microtask: the other appends of the group resolve in the same turn, at the same
        // depth, so they are queued before it and leave in the same response.
        if (ready.length === 0) queueMicrotask(flush);
        ready.push(result);
        const f = freed;
        freed = undefined;
        f?.();
      };
      // The server stopping ends the wait for the next request. (Not a Promise.race with one
      // long-lived "stopped" promise: every race leaves a reaction on it that holds the request it
      // resolved with, and the call lives as long as the client.)
      let wake: ((r: IteratorResult<AppendToStreamsRequest>) => void) | undefined;
      const onStop = (): void => wake?.({ value: undefined, done: true });
      opts.stopping.addEventListener('abort', onStop, { once: true });
      const nextRequest = (
        it: AsyncIterator<AppendToStreamsRequest>,
      ): Promise<IteratorResult<AppendToStreamsRequest>> =>
        new Promise((resolve, reject) => {
          if (opts.stopping.aborted) return resolve({ value: undefined, done: true });
          wake = resolve;
          it.next().then(resolve, reject);
        });
      const read = async (): Promise<void> => {
        const it = requests[Symbol.asyncIterator]();
        try {
          for (;;) {
            if (inFlight >= STREAMED_APPENDS_IN_FLIGHT)
              await new Promise<void>((resolve) => (freed = resolve));
            const next = await nextRequest(it);
            wake = undefined;
            if (next.done) break;
            const appends = next.value.appends;
            inFlight += appends.length;
            store.together(() => {
              for (const a of appends) void streamedAppend(a, ctx.signal).then(answered);
            });
          }
        } catch {
          // The client cancelled or the call broke: nobody is left to answer.
        } finally {
          opts.stopping.removeEventListener('abort', onStop);
          reading = false;
          if (ready.length === 0) flush();
        }
      };
      void read();
      yield* answers;
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
