import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, problemOf, type ApiFailure } from '../../domain/problems';

/** Any error that reaches the edge, as the one typed failure it answers with. */
export function failureOf(err: unknown, req: FastifyRequest, bodyLimitBytes: number): ApiFailure {
  if (err instanceof ApiError) return err.failure;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload-too-large', limitBytes: bodyLimitBytes };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'unsupported-media-type',
        contentType: req.headers['content-type']?.split(';')[0],
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'malformed-json', detail: 'the body is empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'malformed-json', detail: 'the body is not valid JSON' };
    default:
      break;
  }
  // Other client errors fastify detects while reading the request (bad content length, aborted body).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      code: 'validation',
      errors: [
        { field: 'request', message: typeof e.message === 'string' ? e.message : 'is invalid' },
      ],
    };
  }
  return { code: 'internal' };
}

export const statusOfFailure = (f: ApiFailure): number => problemOf(f).problem.status;

export function sendProblem(
  req: FastifyRequest,
  reply: FastifyReply,
  failure: ApiFailure,
): FastifyReply {
  const { problem, headers } = problemOf(failure);
  const body = { ...problem, instance: req.url.split('?')[0] ?? '/', requestId: req.id };
  return reply
    .code(problem.status)
    .headers(headers)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(body));
}

/**
 * Errors Node's HTTP parser meets before fastify sees a request (a head over the size limit, a
 * request not received in time, a malformed request), answered as problem details too.
 */
export function clientErrorHandler(maxHeaderBytes: number) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const failure: ApiFailure =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? { code: 'header-too-large', limitBytes: maxHeaderBytes }
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? { code: 'request-timeout' }
          : {
              code: 'validation',
              errors: [{ field: 'request', message: 'is not a well-formed HTTP request' }],
            };
    const { problem } = problemOf(failure);
    const body = JSON.stringify({ ...problem, instance: '/' });
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    socket.destroy();
  };
}
