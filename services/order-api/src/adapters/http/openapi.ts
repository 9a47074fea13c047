import { z } from 'zod';
import { problemOf, type ApiFailure } from '../../domain/problems';
import { failureSamples } from './openapi-samples';

/**
 * The OpenAPI 3.1 document of the order API, generated from what the server runs: each route
 * carries its `OperationDoc` in its fastify `config` (routes.ts, pages.ts), the schemas are the
 * zod schemas that validate the requests (zod's JSON Schema output), and every problem answer is
 * made by `problemOf`, the function that answers it. Nothing here is a second copy to keep in step.
 */

export type JsonSchema = Record<string, unknown>;
export type FailureCode = ApiFailure['code'];

export interface HeaderDoc {
  name: string;
  description: string;
  schema: z.ZodType;
  required?: boolean;
}

export interface MediaDoc {
  schema: z.ZodType;
  examples?: Record<string, { summary: string; value: unknown }>;
  /** For text/event-stream: the schema of each message's `data`. */
  messageSchema?: z.ZodType;
}

export interface ResponseDoc {
  description: string;
  headers?: HeaderDoc[];
  content?: Record<string, MediaDoc>;
}

/** What a route adds to the document; `failures` are the problem codes it may answer. */
export interface OperationDoc {
  operationId: string;
  summary: string;
  description: string;
  tag: 'orders' | 'restaurants' | 'console';
  /** No authentication (the pages and the document itself). */
  public?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: HeaderDoc[];
  body?: MediaDoc;
  responses: Record<number, ResponseDoc>;
  failures: FailureCode[];
}

/** A registered route with its documentation (collected by the onRoute hook). */
export interface DocumentedRoute {
  method: string;
  url: string;
  doc: OperationDoc;
}

export interface DocumentOptions {
  authMode: 'oidc' | 'dev' | 'none';
  version: string;
  /** Named schemas (components.schemas); a schema used anywhere is referenced by its name. */
  schemas: Record<string, z.ZodType>;
}

/** `/api/orders/:id` → `/api/orders/{id}`. */
export const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The failures every /api operation may answer besides its own. */
function commonFailures(authMode: DocumentOptions['authMode']): FailureCode[] {
  return [
    ...(authMode === 'none' ? [] : (['unauthenticated'] as const)),
    'request-timeout',
    'header-too-large',
    'unavailable',
    'internal',
  ];
}

const requestIdHeader: HeaderDoc = {
  name: 'X-Request-Id',
  description:
    'The request id: the caller’s when it sent a sane one (1–200 visible ASCII characters), else a UUID. It becomes the causation_id of the appended event.',
  schema: z.string().min(1).max(200),
};

const PROBLEM_HEADERS: Record<string, HeaderDoc> = {
  'retry-after': {
    name: 'Retry-After',
    description: 'Seconds to wait before retrying.',
    schema: z.string().regex(/^\d+$/),
  },
  'www-authenticate': {
    name: 'WWW-Authenticate',
    description:
      'RFC 6750 challenge: `Bearer realm="orderflow"`, with `error` and `error_description` when a token was sent.',
    schema: z.string(),
  },
  allow: { name: 'Allow', description: 'The methods the path allows.', schema: z.string() },
};

/** JSON Schema of one zod schema, with named schemas as references. */
class Schemas {
  private readonly names = new Map<z.ZodType, string>();
  readonly components: Record<string, JsonSchema>;

  constructor(named: Record<string, z.ZodType>) {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(named)) {
      registry.add(schema, { id });
      this.names.set(schema, id);
    }
    const out = z.toJSONSchema(registry, {
      uri: (id) => `#/components/schemas/${id}`,
      unrepresentable: 'any',
      io: 'output',
    });
    this.components = Object.fromEntries(
      Object.entries(out.schemas).map(([id, s]) => [id, strip(s as JsonSchema)]),
    );
  }

  of(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
    const name = this.names.get(schema);
    if (name) return { $ref: `#/components/schemas/${name}` };
    return strip(z.toJSONSchema(schema, { unrepresentable: 'any', io }));
  }
}

function strip(s: JsonSchema): JsonSchema {
  const { $schema: _drop, id: _id, ...rest } = s;
  return rest;
}

function headerObject(schemas: Schemas, h: HeaderDoc) {
  return {
    description: h.description,
    required: h.required ?? false,
    schema: schemas.of(h.schema, 'input'),
  };
}

function media(schemas: Schemas, m: MediaDoc, io: 'input' | 'output') {
  return {
    schema: schemas.of(m.schema, io),
    ...(m.examples ? { examples: m.examples } : {}),
    ...(m.messageSchema ? { 'x-sse-message-data': schemas.of(m.messageSchema) } : {}),
  };
}

function parameters(schemas: Schemas, doc: OperationDoc, isPublic: boolean) {
  const from = (where: 'path' | 'query', obj: z.ZodObject | undefined) =>
    Object.entries(obj?.shape ?? {}).map(([name, s]) => {
      const schema = s as z.ZodType;
      return {
        name,
        in: where,
        required: where === 'path' || !schema.safeParse(undefined).success,
        schema: schemas.of(schema, 'input'),
      };
    });
  const headers = [...(doc.headers ?? []), ...(isPublic ? [] : [requestIdHeader])].map((h) => ({
    name: h.name,
    in: 'header',
    ...headerObject(schemas, h),
  }));
  return [...from('path', doc.params), ...from('query', doc.query), ...headers];
}

/** Every failure of the operation, one response per status, each problem type an example. */
function problemResponses(schemas: Schemas, codes: FailureCode[], path: string) {
  const out: Record<string, unknown> = {};
  const byStatus = new Map<
    number,
    { examples: Record<string, unknown>; headers: Set<string>; titles: string[] }
  >();
  for (const code of codes) {
    const { problem, headers } = problemOf(failureSamples[code]);
    const entry = byStatus.get(problem.status) ?? { examples: {}, headers: new Set(), titles: [] };
    entry.examples[code] = {
      summary: problem.title,
      value: { ...problem, instance: path, requestId: '0f3b6c1e-2d5a-4e8f-9a7b-3c1d2e4f5a6b' },
    };
    for (const h of Object.keys(headers)) entry.headers.add(h);
    entry.titles.push(`\`${problem.type.split('/').pop()}\` (${problem.title})`);
    byStatus.set(problem.status, entry);
  }
  for (const [status, e] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = [...e.headers].map((h) => PROBLEM_HEADERS[h]).filter((h) => h !== undefined);
    out[String(status)] = {
      description: `Problem details: ${e.titles.join(', ')}.`,
      headers: Object.fromEntries(
        [...headers, requestIdHeader].map((h) => [h.name, headerObject(schemas, h)]),
      ),
      content: {
        'application/problem+json': {
          schema: { $ref: '#/components/schemas/Problem' },
          examples: e.examples,
        },
      },
    };
  }
  return out;
}

function operation(schemas: Schemas, r: DocumentedRoute, opts: DocumentOptions) {
  const { doc } = r;
  const isPublic = doc.public === true;
  const failures = [...doc.failures, ...(isPublic ? [] : commonFailures(opts.authMode))];
  const responses: Record<string, unknown> = {};
  for (const [status, res] of Object.entries(doc.responses)) {
    const headers = [...(res.headers ?? []), ...(isPublic ? [] : [requestIdHeader])];
    responses[status] = {
      description: res.description,
      ...(headers.length > 0
        ? { headers: Object.fromEntries(headers.map((h) => [h.name, headerObject(schemas, h)])) }
        : {}),
      ...(res.content
        ? {
            content: Object.fromEntries(
              Object.entries(res.content).map(([t, m]) => [t, media(schemas, m, 'output')]),
            ),
          }
        : {}),
    };
  }
  Object.assign(responses, problemResponses(schemas, failures, openApiPath(r.url)));
  const parameterList = parameters(schemas, doc, isPublic);
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description,
    tags: [doc.tag],
    ...(parameterList.length > 0 ? { parameters: parameterList } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': media(schemas, doc.body, 'input') },
          },
        }
      : {}),
    responses,
    ...(opts.authMode === 'none' ? {} : { security: isPublic ? [] : [{ bearer: [] }] }),
  };
}

const INFO_DESCRIPTION = `The public HTTP API of orderflow, an event-sourced order pipeline: place an order,
read it, list a customer's orders, follow it live as Server-Sent Events.

Prices come from the restaurant's menu (\`GET /api/restaurants\`); a price in a request is only
the price the client expects. Every error is an RFC 9457 problem (\`application/problem+json\`)
naming the offending fields. A known path with another method answers 405 with \`Allow\`
(components.responses.MethodNotAllowed); an unknown path 404 (RouteNotFound); a GET route also
answers HEAD.

The console (\`/\`) places and follows orders in a browser; this page is \`/docs\`.`;

/** The document: OpenAPI 3.1 of every documented route. */
export function openApiDocument(routes: readonly DocumentedRoute[], opts: DocumentOptions) {
  const schemas = new Schemas(opts.schemas);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = openApiPath(r.url);
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: operation(schemas, r, opts) };
  }
  const auth =
    opts.authMode === 'none'
      ? 'This instance runs with AUTH_MODE=none: nobody is authenticated, and a request names its customer.'
      : `This instance wants a bearer JWT on every /api request (AUTH_MODE=${opts.authMode}); the token's subject is the customer.`;
  return {
    openapi: '3.1.0',
    info: {
      title: 'orderflow order API',
      version: opts.version,
      description: `${INFO_DESCRIPTION}\n\n${auth}`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'orders', description: 'Place, read, list and follow orders.' },
      { name: 'restaurants', description: 'The menus orders are priced from.' },
      { name: 'console', description: 'The pages for people, and this document.' },
    ],
    paths,
    components: {
      schemas: schemas.components,
      // Answers of no documented operation: another method on a known path, an unknown path.
      responses: {
        MethodNotAllowed: problemResponses(schemas, ['method-not-allowed'], '/api/orders')['405'],
        RouteNotFound: problemResponses(schemas, ['route-not-found'], '/api/nothing')['404'],
      },
      ...(opts.authMode === 'none'
        ? {}
        : {
            securitySchemes: {
              bearer: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description:
                  'A JWT of the configured issuer (AUTH_ISSUER) for the audience AUTH_AUDIENCE; its subject is the customer. With `make up AUTH=dev`: `npm run -s orders -- token --customer c1`.',
              },
            },
          }),
    },
  };
}
