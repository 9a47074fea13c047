import {
  ClientError,
  Metadata,
  ServerError,
  Status,
  createChannel,
  createClientFactory,
  type CallContext,
  type CallOptions,
  type ClientMiddlewareCall,
  type ServerMiddlewareCall,
} from 'nice-grpc';
import type { Registry } from 'prom-client';
import { EventStoreDefinition, type EventStoreClient } from '@orderflow/proto';
import { counter, histogram } from './metrics';
import { StreamedAppends } from './streamed-appends';
import {
  SpanKind,
  context as otelContext,
  extractTraceContext,
  injectTraceContext,
  withSpanGenerator,
} from './tracing';

export { ClientError, ServerError, Status } from 'nice-grpc';

const methodName = (path: string): string => path.split('/').pop() ?? path;

/** Client side: a CLIENT span per call and the W3C trace context in the call's metadata. */
export async function* tracingClientMiddleware<Req, Res>(
  call: ClientMiddlewareCall<Req, Res>,
  options: CallOptions,
): AsyncGenerator<Res, Res | void, undefined> {
  if (call.requestStream || call.responseStream) return yield* call.next(call.request, options);
  return yield* withSpanGenerator<Res, Res | void>(
    `grpc.client ${methodName(call.method.path)}`,
    { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.method': call.method.path } },
    () => {
      const metadata = Metadata(options.metadata);
      for (const [k, v] of Object.entries(injectTraceContext({}, otelContext.active())))
        metadata.set(k, v);
      return call.next(call.request, { ...options, metadata });
    },
  );
}

/** RED metrics of a gRPC server, by method; shared by the middleware and streamed handlers. */
export function grpcServerMetrics(registry: Registry) {
  const requests = counter(registry, {
    name: 'orderflow_grpc_server_requests_total',
    help: 'gRPC requests handled, by method and status code (an append streamed over AppendToStreams counts as one AppendToStream).',
    labelNames: ['method', 'code'] as const,
  });
  const duration = histogram(registry, {
    name: 'orderflow_grpc_server_duration_seconds',
    help: 'gRPC request duration, by method.',
    labelNames: ['method'] as const,
  });
  // Label children bound once per method and code: a request costs no label look-up.
  const timers = new Map<string, { startTimer(): () => void }>();
  const counts = new Map<string, { inc(): void }>();
  return {
    /** Starts timing one request of `method`; call the result with its status code when it ends. */
    start(method: string): (code: Status) => void {
      let timer = timers.get(method);
      if (!timer) timers.set(method, (timer = duration.labels({ method })));
      const end = timer.startTimer();
      return (code) => {
        const key = `${method} ${code}`;
        let count = counts.get(key);
        if (!count) counts.set(key, (count = requests.labels({ method, code: Status[code] })));
        count.inc();
        end();
      };
    },
  };
}
export type GrpcServerMetrics = ReturnType<typeof grpcServerMetrics>;

/**
 * The status a handler's error is answered with: a ServerError's own; CANCELLED for an abort;
 * INTERNAL with a generic message for anything else, which `onUnexpected` hears of (never a
 * stack trace to the caller). For the middleware and for handlers that answer per message.
 */
export function serverAnswerOf(
  err: unknown,
  method: string,
  onUnexpected: (err: unknown, method: string) => void,
): ServerError {
  if (err instanceof ServerError) return err;
  if (err instanceof Error && err.name === 'AbortError')
    return new ServerError(Status.CANCELLED, 'cancelled');
  onUnexpected(err, method);
  return new ServerError(Status.INTERNAL, 'internal error');
}

/**
 * Server side: a SERVER span that continues the caller's trace, RED metrics per method, and
 * the last line of error mapping: anything that is not a ServerError leaves as INTERNAL with a
 * generic message, never a stack trace. Streaming calls get no span (one would last as long as
 * the call); their handlers make one per message that is a request of its own.
 */
export function serverMiddleware(
  metrics: GrpcServerMetrics,
  onUnexpected: (err: unknown, method: string) => void,
) {
  return async function* <Req, Res>(
    call: ServerMiddlewareCall<Req, Res>,
    context: CallContext,
  ): AsyncGenerator<Res, Res | void, undefined> {
    const method = methodName(call.method.path);
    const end = metrics.start(method);
    let code = Status.OK;
    try {
      if (call.requestStream || call.responseStream) return yield* call.next(call.request, context);
      const carrier: Record<string, string> = {};
      for (const key of ['traceparent', 'tracestate']) {
        const v = context.metadata.get(key);
        if (typeof v === 'string') carrier[key] = v;
      }
      return yield* withSpanGenerator<Res, Res | void>(
        `grpc.server ${method}`,
        {
          kind: SpanKind.SERVER,
          parent: extractTraceContext(carrier),
          attributes: { 'rpc.system': 'grpc', 'rpc.method': call.method.path },
        },
        () => call.next(call.request, context),
      );
    } catch (err: unknown) {
      const answer = serverAnswerOf(err, method, onUnexpected);
      code = answer.code;
      // A ServerError or an abort leaves as it is; anything else as the generic INTERNAL.
      throw answer.code === Status.INTERNAL ? answer : err;
    } finally {
      end(code);
    }
  };
}

/**
 * A client of the event store with tracing; one channel per process. `appendToStream` travels
 * over one long-lived `AppendToStreams` call (`StreamedAppends`: same answers and errors as the
 * unary call, a fraction of its CPU); `{ streamAppends: false }` makes it a unary call again.
 */
export function createEventStoreClient(
  address: string,
  opts: { streamAppends?: boolean } = {},
): {
  client: EventStoreClient;
  close: () => void;
} {
  const channel = createChannel(address, undefined, {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  const unary = createClientFactory()
    .use(tracingClientMiddleware)
    .create(EventStoreDefinition, channel);
  if (opts.streamAppends === false) return { client: unary, close: () => channel.close() };
  const streamed = new StreamedAppends(unary);
  const client: EventStoreClient = {
    appendToStream: (request, options) => streamed.append(request, options),
    appendToStreams: (request, options) => unary.appendToStreams(request, options),
    readStream: (request, options) => unary.readStream(request, options),
    readAll: (request, options) => unary.readAll(request, options),
  };
  return {
    client,
    close: () => {
      streamed.close();
      channel.close();
    },
  };
}

/** True for errors worth retrying later: the event store is down, busy or timed out. */
export function isTransientGrpcError(err: unknown): boolean {
  return (
    err instanceof ClientError &&
    [
      Status.UNAVAILABLE,
      Status.DEADLINE_EXCEEDED,
      Status.RESOURCE_EXHAUSTED,
      Status.ABORTED,
      Status.INTERNAL,
      Status.UNKNOWN,
    ].includes(err.code)
  );
}
