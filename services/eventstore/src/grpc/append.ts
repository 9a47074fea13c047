import { ServerError, Status } from 'nice-grpc';
import type {
  AppendToStreamRequest,
  AppendToStreamResponse,
  DeepPartial,
  StreamedAppend,
  StreamedAppendResult,
} from '@orderflow/proto';
import {
  SpanKind,
  counter,
  extractTraceContext,
  serverAnswerOf,
  withSpan,
  type GrpcServerMetrics,
  type Registry,
} from '@orderflow/platform';
import type { PgEventStore } from '../adapters/pg-event-store';
import { StoreError } from '../domain/errors';
import { UNSAFE_REQUEST_ID } from '../wire';
import { toServerError } from './errors';

const APPEND_STREAMS_PATH = '/orderflow.eventstore.v1.EventStore/AppendToStreams';

export interface Appender {
  /** One append, unary or streamed: the store's answer, or a ServerError (or an unexpected error). */
  appendOnce(req: AppendToStreamRequest, signal: AbortSignal): Promise<AppendToStreamResponse>;
  /** One streamed append, with the span and metrics the unary call gets from the middleware. */
  streamedAppend(
    req: StreamedAppend,
    signal: AbortSignal,
  ): Promise<DeepPartial<StreamedAppendResult>>;
}

function appendMetrics(registry: Registry) {
  const appends = counter(registry, {
    name: 'orderflow_eventstore_appends_total',
    help: 'AppendToStream calls by result (ok, duplicate, conflict, invalid, error).',
    labelNames: ['result'] as const,
  });
  return {
    appends,
    appendsOk: appends.labels({ result: 'ok' }),
    appendsDuplicate: appends.labels({ result: 'duplicate' }),
    appended: counter(registry, {
      name: 'orderflow_eventstore_events_appended_total',
      help: 'Events written.',
    }),
    conflicts: counter(registry, {
      name: 'orderflow_eventstore_version_conflicts_total',
      help: 'Appends refused because the stream was not at the expected version.',
    }),
  };
}
type AppendMetrics = ReturnType<typeof appendMetrics>;

function countFailure(m: AppendMetrics, err: unknown): void {
  if (err instanceof StoreError && err.code === 'version-conflict') {
    m.conflicts.inc();
    m.appends.inc({ result: 'conflict' });
  } else if (err instanceof StoreError && err.code === 'invalid-argument')
    m.appends.inc({ result: 'invalid' });
  else m.appends.inc({ result: 'error' });
}

async function appendOnce(
  store: PgEventStore,
  m: AppendMetrics,
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
    (r.duplicate ? m.appendsDuplicate : m.appendsOk).inc();
    m.appended.inc(r.recorded.length);
    return { nextExpectedVersion: r.nextExpectedVersion, duplicate: r.duplicate };
  } catch (err: unknown) {
    countFailure(m, err);
    throw toServerError(err);
  }
}

interface StreamedOptions {
  grpcMetrics: GrpcServerMetrics;
  onUnexpected: (err: unknown, method: string) => void;
}

async function streamedAppend(
  append: Appender['appendOnce'],
  opts: StreamedOptions,
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
        return append(req.append, signal);
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

/** Appends through the store, counted by result; errors mapped to gRPC status once. */
export function appender(store: PgEventStore, registry: Registry, opts: StreamedOptions): Appender {
  const m = appendMetrics(registry);
  const once: Appender['appendOnce'] = (req, signal) => appendOnce(store, m, req, signal);
  return {
    appendOnce: once,
    streamedAppend: (req, signal) => streamedAppend(once, opts, req, signal),
  };
}
