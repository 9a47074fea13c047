import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * A small OpenID Connect issuer on 127.0.0.1 for development and tests: a generated signing key,
 * a discovery document, a JWKS endpoint and a token endpoint that signs a token for whichever
 * customer it is asked for. It is real HTTP, so the order API fetches its keys exactly as it
 * fetches a real issuer's. `make up AUTH=dev` runs one; the CLI gets its tokens from it. It hands
 * out tokens to anyone who can reach it: never bind it anywhere but the loopback address.
 */

export interface IssuerKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** SPKI PEM of the public key (tests use it to forge an HS256 token with it as the secret). */
  publicPem: string;
}

export interface TokenRequest {
  /** The `sub` (the customer). */
  customer: string;
  /** Adds the staff scope. */
  staff?: boolean;
  /** Seconds until `exp`; negative for an expired token. */
  expiresIn?: number;
  /** Claims to add or override (`iss`, `aud`, `scope`, ...); `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the current one (for example a retired or unpublished one). */
  key?: IssuerKey;
}

export interface DevIssuer {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens, AUTH_ISSUER of the order API. */
  issuer: string;
  jwksUrl: string;
  tokenUrl: string;
  audience: string;
  staffScope: string;
  /** The key that signs new tokens. */
  currentKey(): IssuerKey;
  /** A token signed by the current key (or `request.key`). */
  sign(request: TokenRequest): Promise<string>;
  /** A fresh key that is not published in the JWKS (an attacker's, or one not rotated in yet). */
  unpublishedKey(): Promise<IssuerKey>;
  /** Makes a new current key; the old one stays published unless `retireOld`. */
  rotate(opts?: { retireOld?: boolean }): Promise<IssuerKey>;
  /** JWKS requests served so far. */
  jwksRequests(): number;
  stop(): Promise<void>;
}

async function newKey(alg: IssuerKey['alg']): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 4096) throw new Error('body too large');
  }
  return text ? (JSON.parse(text) as unknown) : {};
}

export async function startIssuer(
  opts: {
    audience?: string;
    staffScope?: string;
    alg?: IssuerKey['alg'];
    port?: number;
    tokenTtlSeconds?: number;
    /**
     * Origins whose pages may call it from a browser (CORS): the order API's console asks it for
     * a token. Only these, never `*`: another site open in the same browser gets nothing.
     */
    corsOrigins?: readonly string[];
  } = {},
): Promise<DevIssuer> {
  const audience = opts.audience ?? 'orderflow';
  const staffScope = opts.staffScope ?? 'orders:staff';
  const alg = opts.alg ?? 'RS256';
  const ttl = opts.tokenTtlSeconds ?? 3600;
  let current = await newKey(alg);
  let published: IssuerKey[] = [current];
  let jwksRequests = 0;
  let issuer = '';

  const sign = async (r: TokenRequest): Promise<string> => {
    const key = r.key ?? current;
    const now = Math.floor(Date.now() / 1000);
    // Claims set directly (no setters) so that `r.claims` can override or remove any of them.
    const claims: Record<string, unknown> = {
      iss: issuer,
      aud: audience,
      sub: r.customer,
      scope: r.staff ? `openid ${staffScope}` : 'openid',
      iat: now,
      exp: now + (r.expiresIn ?? ttl),
      jti: randomUUID(),
      ...r.claims,
    };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  };

  const cors = new Set(opts.corsOrigins ?? []);
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      const origin = req.headers.origin;
      if (origin !== undefined && cors.has(origin)) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('vary', 'Origin');
      }
      try {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, {
            'access-control-allow-methods': 'GET, POST',
            'access-control-allow-headers': 'content-type',
            'access-control-max-age': '600',
          });
          res.end();
          return;
        }
        if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
          send(res, 200, {
            issuer,
            jwks_uri: `${issuer}/jwks.json`,
            token_endpoint: `${issuer}/token`,
            id_token_signing_alg_values_supported: [alg],
            response_types_supported: ['token'],
            subject_types_supported: ['public'],
          });
        } else if (req.method === 'GET' && path === '/jwks.json') {
          jwksRequests++;
          send(res, 200, { keys: published.map((k) => k.publicJwk) });
        } else if (req.method === 'POST' && path === '/token') {
          const body = (await readJson(req)) as { customer?: unknown; staff?: unknown };
          const customer = body.customer;
          if (typeof customer !== 'string' || customer.trim() === '' || customer.length > 200) {
            send(res, 400, {
              error: 'invalid_request',
              error_description: 'customer must be 1 to 200 characters',
            });
            return;
          }
          const token = await sign({ customer, staff: body.staff === true });
          send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl });
        } else {
          send(res, 404, { error: 'not_found' });
        }
      } catch {
        send(res, 400, { error: 'invalid_request' });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    tokenUrl: `${issuer}/token`,
    audience,
    staffScope,
    currentKey: () => current,
    sign,
    unpublishedKey: () => newKey(alg),
    async rotate({ retireOld = false } = {}) {
      const next = await newKey(alg);
      published = retireOld ? [next] : [...published, next];
      current = next;
      return next;
    },
    jwksRequests: () => jwksRequests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
