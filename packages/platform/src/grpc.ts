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

/**
 * Server side: a SERVER span that continues the caller's trace, RED metrics per method, and
 * the last line of error mapping: anything that is not a ServerError leaves as INTERNAL with a
 * generic message, never a stack trace.
 */
export function serverMiddleware(
  registry: Registry,
  onUnexpected: (err: unknown, method: string) => void,
) {
  const requests = counter(registry, {
    name: 'orderflow_grpc_server_requests_total',
    help: 'gRPC requests handled, by method and status code.',
    labelNames: ['method', 'code'] as const,
  });
  const duration = histogram(registry, {
    name: 'orderflow_grpc_server_duration_seconds',
    help: 'gRPC request duration, by method.',
    labelNames: ['method'] as const,
  });
  return async function* <Req, Res>(
    call: ServerMiddlewareCall<Req, Res>,
    context: CallContext,
  ): AsyncGenerator<Res, Res | void, undefined> {
    const method = methodName(call.method.path);
    const end = duration.startTimer({ method });
    const carrier: Record<string, string> = {};
    for (const key of ['traceparent', 'tracestate']) {
      const v = context.metadata.get(key);
      if (typeof v === 'string') carrier[key] = v;
    }
    let code = Status.OK;
    try {
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
      if (err instanceof ServerError) {
        code = err.code;
        throw err;
      }
      if (err instanceof Error && err.name === 'AbortError') {
        code = Status.CANCELLED;
        throw err;
      }
      code = Status.INTERNAL;
      onUnexpected(err, method);
      throw new ServerError(Status.INTERNAL, 'internal error');
    } finally {
      requests.inc({ method, code: Status[code] });
      end();
    }
  };
}

/** A client of the event store with tracing; one channel per process. */
export function createEventStoreClient(address: string): {
  client: EventStoreClient;
  close: () => void;
} {
  const channel = createChannel(address, undefined, {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  const client = createClientFactory()
    .use(tracingClientMiddleware)
    .create(EventStoreDefinition, channel);
  return { client, close: () => channel.close() };
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
