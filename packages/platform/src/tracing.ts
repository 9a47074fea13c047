import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

export { SpanKind, context, trace } from '@opentelemetry/api';
export type { Context, Span } from '@opentelemetry/api';

const tracer = () => trace.getTracer('orderflow');

/** Writes the active trace context (`traceparent`, `tracestate`) into a string map. */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads a trace context from a string map (event metadata, NATS or gRPC headers). */
export function extractTraceContext(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (c, k) => c[k],
    keys: (c) => Object.keys(c),
  });
}

/**
 * Runs `fn` in a new span (a child of `parent`, or of the active context) and ends it; an error
 * marks the span failed and is rethrown. Attributes must never hold payment details or personal data.
 */
export async function withSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context; links?: Link[] },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err: unknown) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span failed with the error that ended it. */
function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.name : 'error',
  });
}

/**
 * `withSpan` for async generators (nice-grpc middlewares): the span stays open, and active, while
 * the inner generator runs, on every step, not only while it is created. (A generator's body runs
 * when it is iterated, so wrapping its creation in `withSpan` would end the span before the call
 * ran and leave the handler outside it.)
 */
export async function* withSpanGenerator<T, R>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  gen: (span: Span) => AsyncGenerator<T, R, undefined>,
): AsyncGenerator<T, R, undefined> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  try {
    const it = context.with(ctx, () => gen(span));
    for (;;) {
      const step = await context.with(ctx, () => it.next());
      if (step.done) return step.value;
      yield step.value;
    }
  } catch (err: unknown) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}
