import { SpanStatusCode } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SpanKind, extractTraceContext, withSpan, type Span } from '@orderflow/platform';
import { failureOf, statusOfFailure } from './problems';

type Settled = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * One SERVER span per request that continues the caller's `traceparent`, so a trace starts at
 * the HTTP request and follows the order through the event store and every consumer. Client
 * errors (4xx) do not mark the span failed; errors still go to the one error handler.
 */
export const traced =
  (bodyLimitBytes: number) =>
  <Req extends FastifyRequest>(
    route: string,
    handler: (req: Req, reply: FastifyReply, span: Span) => Promise<unknown>,
  ) =>
  async (req: Req, reply: FastifyReply): Promise<unknown> => {
    const h = req.headers;
    const carrier = {
      traceparent: typeof h.traceparent === 'string' ? h.traceparent : undefined,
      tracestate: typeof h.tracestate === 'string' ? h.tracestate : undefined,
    };
    const outcome = await withSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        parent: extractTraceContext(carrier),
        attributes: {
          'http.request.method': req.method,
          'http.route': route,
          'url.scheme': 'http',
        },
      },
      async (span): Promise<Settled> => {
        try {
          const value = await handler(req, reply, span);
          span.setAttribute('http.response.status_code', reply.statusCode);
          return { ok: true, value };
        } catch (err: unknown) {
          const status = statusOfFailure(failureOf(err, req, bodyLimitBytes));
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) {
            span.recordException(err instanceof Error ? err : String(err));
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
          }
          return { ok: false, err };
        }
      },
    );
    if (!outcome.ok) throw outcome.err;
    return outcome.value;
  };
