import { connect } from 'node:net';
import { startIssuer, type DevIssuer } from '@orderflow/testkit';
import { startApi, type ApiUnderTest } from './harness';

// Abuse limits of the public port: the per-client rate limit on POST /api/orders, the bounded
// request head and the request timeout, each against the running API over real sockets.
const order = { restaurantId: 'trattoria', items: [{ code: 'tiramisu', quantity: 1 }] };

async function post(
  api: ApiUnderTest,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${api.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Writes raw bytes to the API and returns everything it answers before closing. */
function raw(port: number, request: string, waitMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, waitMs);
    socket.on('data', (d) => (answer += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

const bodyOf = (answer: string): Record<string, unknown> =>
  JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

describe('per-customer rate limit (authenticated)', () => {
  let issuer: DevIssuer;
  let api: ApiUnderTest;
  beforeAll(async () => {
    issuer = await startIssuer();
    api = await startApi({
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: issuer.issuer,
      RATE_LIMIT_MAX: '3',
      RATE_LIMIT_WINDOW_MS: '60000',
    });
  });
  afterAll(async () => {
    await api.stop();
    await issuer.stop();
  });

  test('when a customer posts more orders than the limit, then the next answers 429 with Retry-After and appends nothing, while another customer still orders', async () => {
    const alice = { authorization: `Bearer ${await issuer.sign({ customer: 'rl-alice' })}` };
    for (let i = 0; i < 3; i++) expect((await post(api, order, alice)).status).toBe(201);
    const before = await api.eventCount();
    const res = await post(api, order, alice);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      status: 429,
      type: 'https://orderflow.dev/problems/rate-limited',
    });
    expect(await api.eventCount()).toBe(before);

    const bob = { authorization: `Bearer ${await issuer.sign({ customer: 'rl-bob' })}` };
    expect((await post(api, order, bob)).status).toBe(201);
    // Reads are not limited.
    expect((await fetch(`${api.baseUrl}/api/orders`, { headers: alice })).status).toBe(200);
  });
});

describe('per-address rate limit, head size and request timeout (AUTH_MODE=none)', () => {
  let api: ApiUnderTest;
  beforeAll(async () => {
    api = await startApi({
      RATE_LIMIT_MAX: '2',
      HTTP_MAX_HEADER_BYTES: '8192',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await api.stop();
  });

  test('when one address posts more orders than the limit, then it gets 429 whatever customer it names', async () => {
    expect((await post(api, { ...order, customerId: 'a1' })).status).toBe(201);
    expect((await post(api, { ...order, customerId: 'a2' })).status).toBe(201);
    const res = await post(api, { ...order, customerId: 'a3' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('when the request head is larger than the limit, then it answers 431 problem details', async () => {
    const answer = await raw(
      api.app.httpPort,
      `GET /api/orders?customerId=c1 HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(10_000)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(bodyOf(answer)).toMatchObject({ status: 431, errors: [{ field: 'headers' }] });
  });

  test('when a client sends its request too slowly, then it answers 408 problem details and closes', async () => {
    const started = Date.now();
    const answer = await raw(
      api.app.httpPort,
      // The head never ends: the request is not received in time.
      'GET /api/orders?customerId=c1 HTTP/1.1\r\nHost: x\r\nX-Slow: 1',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(answer)).toMatchObject({
      status: 408,
      type: expect.stringMatching(/request-timeout$/),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
