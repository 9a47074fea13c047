import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SignJWT, UnsecuredJWT } from 'jose';
import { createLogger, startTelemetry, stopTelemetry } from '@orderflow/platform';
import { freePort, startIssuer, type DevIssuer } from '@orderflow/testkit';
import { startApi, type ApiUnderTest } from './harness';

// The order API in AUTH_MODE=oidc against a real local issuer (discovery document and JWKS over
// HTTP on 127.0.0.1), with its logs and spans captured to prove that no token or claim leaks.
let issuer: DevIssuer;
let sut: ApiUnderTest;
const logLines: string[] = [];
const spans = new InMemorySpanExporter();
const issued: string[] = [];

beforeAll(async () => {
  startTelemetry('order-api-auth-test', {
    spanProcessors: [new SimpleSpanProcessor(spans)],
    env: {},
  });
  issuer = await startIssuer();
  const logs = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  sut = await startApi(
    {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'orderflow',
      // Rotation is tested below: refetch the JWKS for every unknown key id.
      AUTH_JWKS_COOLDOWN_MS: '0',
      LOG_LEVEL: 'debug',
    },
    createLogger('order-api', 'debug', logs),
  );
});

afterAll(async () => {
  await sut.stop();
  await issuer.stop();
  await stopTelemetry();
});

const token = async (customer: string, opts: Parameters<DevIssuer['sign']>[0] | object = {}) => {
  const t = await issuer.sign({ customer, ...opts });
  issued.push(t);
  return t;
};
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const order = (over: Record<string, unknown> = {}) => ({
  restaurantId: 'trattoria',
  items: [{ code: 'margherita', quantity: 1 }],
  ...over,
});

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sut.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${sut.baseUrl}${path}`, { headers });

interface Problem {
  status: number;
  type: string;
  errors?: { field: string; message: string }[];
}
async function problem(res: Response): Promise<Problem> {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const p = (await res.json()) as Problem;
  expect(p.status).toBe(res.status);
  return p;
}

async function placeAs(customer: string): Promise<string> {
  const res = await post(order(), bearer(await token(customer)));
  expect(res.status).toBe(201);
  return ((await res.json()) as { orderId: string }).orderId;
}

describe('without a valid token', () => {
  test.each([
    ['POST /api/orders', () => post(order({ customerId: 'c1' }))],
    ['GET /api/orders/:id', () => get(`/api/orders/${randomUUID()}`)],
    ['GET /api/orders', () => get('/api/orders?customerId=c1')],
  ])(
    'when %s has no Authorization header, then it answers 401 problem details with a Bearer challenge',
    async (_r, call) => {
      const before = await sut.eventCount();
      const res = await call();
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orderflow"');
      const p = await problem(res);
      expect(p.type).toMatch(/\/unauthenticated$/);
      expect(p.errors?.map((e) => e.field)).toEqual(['Authorization']);
      expect(await sut.eventCount()).toBe(before);
    },
  );

  test('when the scheme is not Bearer, then it answers 401 invalid_request', async () => {
    const res = await post(order(), { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  test.each<[string, () => Promise<string>, string]>([
    ['expired', () => token('alice', { expiresIn: -120 }), 'the token has expired'],
    [
      'from another issuer',
      () => token('alice', { claims: { iss: 'https://evil.example' } }),
      'the token is from another issuer',
    ],
    [
      'for another audience',
      () => token('alice', { claims: { aud: 'someone-else' } }),
      'the token is for another audience',
    ],
    [
      'without an expiry',
      () => token('alice', { claims: { exp: undefined } }),
      'the token has no valid expiry',
    ],
    [
      'unsigned (alg none)',
      () =>
        Promise.resolve(
          new UnsecuredJWT({ sub: 'alice', aud: 'orderflow' })
            .setIssuer(issuer.issuer)
            .setExpirationTime('10m')
            .encode(),
        ),
      'the token algorithm is not accepted',
    ],
    [
      'HS256 with the public key as the HMAC secret',
      () =>
        new SignJWT({ sub: 'alice' })
          .setProtectedHeader({ alg: 'HS256', kid: issuer.currentKey().kid })
          .setIssuer(issuer.issuer)
          .setAudience('orderflow')
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(issuer.currentKey().publicPem)),
      'the token algorithm is not accepted',
    ],
    [
      'signed by a key whose kid is unknown',
      async () => token('alice', { key: await issuer.unpublishedKey() }),
      'the token signing key is not known',
    ],
    [
      'signed by another key under a known kid',
      async () =>
        token('alice', {
          key: { ...(await issuer.unpublishedKey()), kid: issuer.currentKey().kid },
        }),
      'the token signature does not verify',
    ],
    ['not a JWT', () => Promise.resolve('not.a.jwt'), 'the token is malformed'],
    [
      'without a customer in sub',
      () => token('alice', { claims: { sub: undefined } }),
      "the token's sub claim does not name a customer",
    ],
  ])(
    'when the token is %s, then it answers 401 invalid_token and appends nothing',
    async (_c, make, description) => {
      const before = await sut.eventCount();
      const res = await post(order(), bearer(await make()));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer realm="orderflow", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
      );
      expect((await problem(res)).errors).toEqual([
        { field: 'Authorization', message: description },
      ]);
      expect(await sut.eventCount()).toBe(before);
    },
  );
});

describe('a customer acts only as itself', () => {
  test('when a token is valid, then the order is placed for its customer, with or without customerId in the body', async () => {
    const t = await token('alice');
    const a = await post(order(), bearer(t));
    expect(a.status).toBe(201);
    expect(await a.json()).toMatchObject({ customerId: 'alice', amount: 1250 });
    const b = await post(order({ customerId: 'alice' }), bearer(t));
    expect(b.status).toBe(201);
  });

  test('when A places an order as B, then it answers 403 naming customerId and appends nothing', async () => {
    const before = await sut.eventCount();
    const res = await post(order({ customerId: 'bob' }), bearer(await token('alice')));
    expect(res.status).toBe(403);
    const p = await problem(res);
    expect(p.type).toMatch(/\/forbidden$/);
    expect(p.errors?.map((e) => e.field)).toEqual(['customerId']);
    expect(await sut.eventCount()).toBe(before);
  });

  test('when A reads or lists B’s orders, then it answers 403; its own it may read and list', async () => {
    const bobs = await placeAs('bob');
    const alice = bearer(await token('alice'));
    const read = await get(`/api/orders/${bobs}`, alice);
    expect(read.status).toBe(403);
    expect((await problem(read)).errors?.map((e) => e.field)).toEqual(['id']);
    const list = await get('/api/orders?customerId=bob', alice);
    expect(list.status).toBe(403);
    expect((await problem(list)).errors?.map((e) => e.field)).toEqual(['customerId']);

    const bob = bearer(await token('bob'));
    expect((await get(`/api/orders/${bobs}`, bob)).status).toBe(200);
    expect((await get('/api/orders', bob)).status).toBe(200);
  });

  test('when staff reads any order or lists any customer, then it may', async () => {
    const bobs = await placeAs('bob');
    const staff = bearer(await token('sam', { staff: true }));
    const read = await get(`/api/orders/${bobs}`, staff);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ orderId: bobs, customerId: 'bob' });
    expect((await get('/api/orders?customerId=bob', staff)).status).toBe(200);
    // Staff reads others' orders but still orders only as itself.
    expect((await post(order({ customerId: 'bob' }), staff)).status).toBe(403);
  });
});

describe('key rotation', () => {
  test('when the issuer rotates its key, then tokens of the new key verify at once and a retired key stops verifying after the next refetch', async () => {
    const oldToken = await token('carol');
    expect((await post(order(), bearer(oldToken))).status).toBe(201);

    await issuer.rotate();
    const fetches = issuer.jwksRequests();
    expect((await post(order(), bearer(await token('carol')))).status).toBe(201);
    expect(issuer.jwksRequests()).toBeGreaterThan(fetches);
    expect((await post(order(), bearer(oldToken))).status).toBe(201);

    await issuer.rotate({ retireOld: true });
    expect((await post(order(), bearer(await token('carol')))).status).toBe(201);
    const stale = await post(order(), bearer(oldToken));
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toContain('signing key is not known');
  });
});

describe('secrets stay out of logs and spans', () => {
  test('when requests with tokens were served, then no token, Authorization value or claim appears in a log line or a span', () => {
    const logs = logLines.join('\n');
    const spanText = JSON.stringify(
      spans
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(spans.getFinishedSpans().length).toBeGreaterThan(0);
    expect(logs).toContain('order created');
    for (const t of issued) {
      expect(logs).not.toContain(t);
      expect(spanText).not.toContain(t);
      expect(spanText).not.toContain(t.split('.')[1]);
    }
    expect(logs).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(spanText).not.toMatch(/eyJ[\w-]+\.eyJ/);
    for (const claim of ['alice', 'orders:staff']) {
      expect(logs).not.toContain(claim);
      expect(spanText).not.toContain(claim);
    }
  });
});

describe('the identity provider is down', () => {
  test('when the issuer cannot be reached, then requests answer 503 with Retry-After, not 401', async () => {
    const down = await startApi({
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: `http://127.0.0.1:${await freePort()}`,
      AUTH_JWKS_TIMEOUT_MS: '500',
    });
    try {
      const res = await fetch(`${down.baseUrl}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(await token('alice')) },
        body: JSON.stringify(order()),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await problem(res)).type).toMatch(/service-unavailable$/);
    } finally {
      await down.stop();
    }
  });
});
