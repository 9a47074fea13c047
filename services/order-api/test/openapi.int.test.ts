import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { startIssuer, type DevIssuer } from '@orderflow/testkit';
import { openApiPath } from '../src/adapters/http/openapi';
import { failureSamples } from '../src/adapters/http/openapi-samples';
import { problemOf } from '../src/domain/problems';
import { startApi, upsertOrder, type ApiUnderTest } from './harness';

// The OpenAPI document as the running API serves it: valid OpenAPI 3.1, in step with the routes
// the server registered (both ways), its examples valid against its schemas, and the API's real
// answers valid against them too.
const ROOT = resolve(__dirname, '..', '..', '..');
const VALIDATOR = join(
  ROOT,
  'node_modules',
  '@seriousme',
  'openapi-schema-validator',
  'bin',
  'validate-api-cli.js',
);

interface Operation {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, Media> }>;
}
interface Media {
  schema: Record<string, unknown>;
  examples?: Record<string, { value: unknown }>;
  'x-sse-message-data'?: Record<string, unknown>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

let sut: ApiUnderTest;
let doc: Document;
let workDir: string;

beforeAll(async () => {
  sut = await startApi();
  doc = (await (await fetch(`${sut.baseUrl}/openapi.json`)).json()) as Document;
  workDir = mkdtempSync(join(tmpdir(), 'openapi-'));
});

afterAll(async () => {
  await sut.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const operations = (d: Document) =>
  Object.entries(d.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );

/** An ajv that knows the document's components, so `#/components/...` references resolve. */
function validatorOf(d: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const base = 'https://orderflow.test/openapi.json';
  ajv.addSchema({ $id: base, components: d.components });
  const rebased = (schema: unknown) =>
    JSON.parse(
      JSON.stringify(schema).replaceAll('"#/components/', `"${base}#/components/`),
    ) as object;
  return (schema: unknown, value: unknown): string[] => {
    const validate = ajv.compile(rebased(schema));
    return validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

function validateWithCli(d: unknown): { status: number; output: string } {
  const file = join(workDir, `openapi-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(d));
  try {
    return {
      status: 0,
      output: execFileSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8' }),
    };
  } catch (err: unknown) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

test('when /openapi.json is checked by an OpenAPI validator, then it is a valid OpenAPI 3.1 document', () => {
  expect(doc.openapi).toBe('3.1.0');
  const result = validateWithCli(doc);
  expect(result.output).toContain('"valid": true');
  expect(result.status).toBe(0);
});

test('when a document breaks the specification, then the validator says so (the check can fail)', () => {
  const broken = { ...doc, paths: { '/api/orders': { get: { responses: 'none' } } } };
  expect(validateWithCli(broken).output).toContain('"valid": false');
});

test('when the registered routes are compared with the document, then each is in the other', () => {
  const registered = sut.app.routes.filter((r) => !r.methodNotAllowed);
  expect(registered.filter((r) => !r.documented)).toEqual([]);
  const fromRoutes = registered.map((r) => `${r.method} ${openApiPath(r.url)}`).sort();
  const fromDocument = operations(doc)
    .map((o) => `${o.method} ${o.path}`)
    .sort();
  expect(fromDocument).toEqual(fromRoutes);
  expect(fromRoutes).toEqual(
    expect.arrayContaining([
      'POST /api/orders',
      'GET /api/orders',
      'GET /api/orders/{id}',
      'GET /api/orders/{id}/events',
      'GET /api/restaurants',
      'GET /',
      'GET /docs',
      'GET /openapi.json',
    ]),
  );
});

test('when the document is read, then every example matches its schema', () => {
  const check = validatorOf(doc);
  const problems: string[] = [];
  let examples = 0;
  for (const { path, method, op } of operations(doc)) {
    const media = [
      ...Object.values(op.requestBody?.content ?? {}),
      ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {})),
    ];
    for (const m of media)
      for (const [name, ex] of Object.entries(m.examples ?? {})) {
        examples++;
        for (const e of check(m.schema, ex.value)) problems.push(`${method} ${path} ${name}: ${e}`);
        // An event stream's example: each data line is one documented message.
        const data = String(ex.value)
          .split('\n')
          .filter((l) => l.startsWith('data: '));
        if (m['x-sse-message-data'])
          for (const line of data)
            for (const e of check(m['x-sse-message-data'], JSON.parse(line.slice(6))))
              problems.push(`${method} ${path} ${name} data: ${e}`);
      }
  }
  expect(problems).toEqual([]);
  expect(examples).toBeGreaterThan(20);
});

test('when the document is read, then every problem type the API can answer is in it with an example', () => {
  const types = new Set<string>();
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'type' && typeof x === 'string' && x.includes('/problems/')) types.add(x);
        else collect(x);
      }
  };
  collect(doc.paths);
  collect((doc.components as { responses?: unknown }).responses);
  const all = Object.values(failureSamples).map((f) => problemOf(f).problem.type);
  // Without authentication nothing answers 401.
  const expected = all.filter((t) => !t.endsWith('/unauthenticated'));
  expect([...types].sort()).toEqual([...new Set(expected)].sort());
});

test('when the document describes the headers, then Idempotency-Key, Location, Retry-After, Last-Event-ID and X-Request-Id are there', () => {
  const post = doc.paths['/api/orders']?.['post'];
  expect(post?.parameters?.map((p) => p.name)).toEqual(
    expect.arrayContaining(['Idempotency-Key', 'X-Request-Id']),
  );
  expect(Object.keys(post?.responses['201']?.headers ?? {})).toEqual(
    expect.arrayContaining(['Location', 'Idempotent-Replayed', 'X-Request-Id']),
  );
  expect(Object.keys(post?.responses['429']?.headers ?? {})).toContain('Retry-After');
  expect(Object.keys(post?.responses['503']?.headers ?? {})).toContain('Retry-After');
  const events = doc.paths['/api/orders/{id}/events']?.['get'];
  expect(events?.parameters?.map((p) => p.name)).toContain('Last-Event-ID');
  expect(Object.keys(events?.responses ?? {})).toEqual(
    expect.arrayContaining(['200', '204', '400', '404', '503']),
  );
  // Without authentication nothing asks for a token.
  expect(doc.components.securitySchemes).toBeUndefined();
  expect(post?.responses['401']).toBeUndefined();
});

test('when the API answers, then its bodies match the schemas the document gives them', async () => {
  const check = validatorOf(doc);
  const schemaOf = (path: string, method: string, status: string, type = 'application/json') =>
    doc.paths[path]?.[method]?.responses[status]?.content?.[type]?.schema;
  const post = await fetch(`${sut.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId: 'doc-1',
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', quantity: 1 }],
    }),
  });
  expect(post.status).toBe(201);
  const created = (await post.json()) as { orderId: string };
  expect(check(schemaOf('/api/orders', 'post', '201'), created)).toEqual([]);
  const answers: [string, string, string, Response][] = [
    ['/api/orders/{id}', 'get', '200', await fetch(`${sut.baseUrl}/api/orders/${created.orderId}`)],
    ['/api/orders', 'get', '200', await fetch(`${sut.baseUrl}/api/orders?customerId=doc-1`)],
    ['/api/restaurants', 'get', '200', await fetch(`${sut.baseUrl}/api/restaurants`)],
    [
      '/api/orders',
      'post',
      '400',
      await fetch(`${sut.baseUrl}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    ],
    [
      '/api/orders/{id}',
      'get',
      '404',
      await fetch(`${sut.baseUrl}/api/orders/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`),
    ],
  ];
  for (const [path, method, status, res] of answers) {
    expect(String(res.status)).toBe(status);
    const type = status === '200' ? 'application/json' : 'application/problem+json';
    expect(check(schemaOf(path, method, status, type), await res.json())).toEqual([]);
  }
  await upsertOrder(sut.query, {
    orderId: created.orderId,
    customerId: 'doc-1',
    status: 'Paid',
    version: 1,
  });
  const row = await (await fetch(`${sut.baseUrl}/api/orders/${created.orderId}`)).json();
  expect(check(schemaOf('/api/orders/{id}', 'get', '200'), row)).toEqual([]);
});

describe('with authentication on', () => {
  let issuer: DevIssuer;
  let secured: ApiUnderTest;
  let securedDoc: Document;

  beforeAll(async () => {
    issuer = await startIssuer();
    secured = await startApi({ AUTH_MODE: 'dev', AUTH_ISSUER: issuer.issuer });
    securedDoc = (await (await fetch(`${secured.baseUrl}/openapi.json`)).json()) as Document;
  });

  afterAll(async () => {
    await secured.stop();
    await issuer.stop();
  });

  test('when the document is served, then every /api operation asks for a bearer token and answers 401, the pages do not', () => {
    expect(validateWithCli(securedDoc).status).toBe(0);
    expect(securedDoc.components.securitySchemes?.['bearer']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    for (const { path, op } of operations(securedDoc)) {
      if (path.startsWith('/api/')) {
        expect([path, op.security]).toEqual([path, [{ bearer: [] }]]);
        expect(Object.keys(op.responses['401']?.headers ?? {})).toContain('WWW-Authenticate');
      } else {
        expect([path, op.security]).toEqual([path, []]);
      }
    }
  });
});
