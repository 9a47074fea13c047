import { z } from 'zod';
import { baseConfigShape, env } from '@orderflow/platform';

/** JWS algorithms a token may be signed with: asymmetric only, never `none` or an HMAC (HS*). */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;
const isLoopback = (u: URL): boolean => LOOPBACK.test(u.hostname);
const url = (v: string): URL | undefined => {
  try {
    return new URL(v);
  } catch {
    return undefined;
  }
};

/** https, or http on this machine. */
const fetchable = (u: URL): boolean =>
  u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u));

/** What is wrong with AUTH_ISSUER for the mode (oidc or dev), if anything. */
function issuerProblem(mode: 'oidc' | 'dev', value: string | undefined): string | undefined {
  const issuer = value === undefined ? undefined : url(value);
  if (!issuer) return `is required with AUTH_MODE=${mode} (an http(s) URL)`;
  if (mode === 'dev' && !isLoopback(issuer))
    return 'must be on this machine (127.0.0.1 or localhost) with AUTH_MODE=dev';
  if (!fetchable(issuer)) return 'must be an https URL (http only on 127.0.0.1 or localhost)';
  return undefined;
}

/** Every environment variable of the order API, validated once at start (docs/conventions.md). */
export const configSchema = z
  .object({
    ...baseConfigShape,
    /** The public HTTP API. */
    HTTP_HOST: env.host('0.0.0.0'),
    HTTP_PORT: env.port(8080),
    /** The query database (`orderflow_query`): the order API only reads the `orders` read model. */
    DATABASE_URL: env.postgresUrl(),
    DATABASE_POOL_MAX: env.int(10, 1, 200),
    /** The event store's gRPC address (host:port). */
    EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
    /** Deadline of every event store call; past it the request answers 503. */
    EVENTSTORE_TIMEOUT_MS: env.int(5000, 10, 120_000),
    /** Largest accepted request body; a bigger one answers 413. */
    BODY_LIMIT_BYTES: env.int(65_536, 1024, 10 * 1024 * 1024),
    /**
     * After SIGTERM, keep answering for this long (readiness already false, every response with
     * `Connection: close`) before closing: clients leave their kept-alive connections without a
     * request ever meeting a closed socket. Set it above KEEP_ALIVE_TIMEOUT_MS (the chart does).
     */
    SHUTDOWN_DRAIN_MS: env.int(0, 0, 120_000),
    /** How long an idle kept-alive connection stays open (announced in `Keep-Alive: timeout=`). */
    KEEP_ALIVE_TIMEOUT_MS: env.int(5_000, 1_000, 600_000),
    /** Largest request head (request line and headers); a bigger one answers 431. */
    HTTP_MAX_HEADER_BYTES: env.int(16_384, 4096, 65_536),
    /** Time a client has to send its whole request; past it the request answers 408. */
    HTTP_REQUEST_TIMEOUT_MS: env.int(30_000, 1000, 600_000),
    /**
     * Trust X-Forwarded-For from this many proxy hops in front of the API (0: none), so the rate
     * limit of unauthenticated requests counts per client address rather than per proxy.
     */
    HTTP_TRUST_PROXY_HOPS: env.int(0, 0, 10),
    /** Restaurants and menus the API prices orders from: the restaurant service's catalog file. */
    CATALOG_FILE: z.string().min(1).default('config/catalog.json'),
    /** The operator's runtime config; its `restaurant.catalog` replaces the catalog file while present. */
    RUNTIME_CONFIG_FILE: env.optionalPath(),
    /**
     * `oidc`: bearer JWTs from AUTH_ISSUER; `dev`: the same against the local development issuer of
     * `make up AUTH=dev`; `none`: no authentication at all (anyone may act as any customer). Required:
     * running without authentication is a choice to make explicitly.
     */
    AUTH_MODE: z.enum(['oidc', 'dev', 'none'], {
      error: (iss) =>
        iss.input === undefined
          ? 'is required: oidc, dev or none (none turns authentication off)'
          : 'must be oidc, dev or none',
    }),
    /** The OpenID Connect issuer (the `iss` of its tokens); https unless on this machine. */
    AUTH_ISSUER: z.string().optional(),
    /** The JWKS URL; default: `jwks_uri` of the issuer's /.well-known/openid-configuration. */
    AUTH_JWKS_URL: z.string().optional(),
    /** The `aud` every token must carry. */
    AUTH_AUDIENCE: z.string().min(1).default('orderflow'),
    /** Comma-separated JWS algorithms accepted (asymmetric only). */
    AUTH_ALGORITHMS: z
      .string()
      .default('RS256,PS256,ES256,EdDSA')
      .transform((v) => v.split(',').map((a) => a.trim()))
      .pipe(
        z
          .array(
            z.enum(ASYMMETRIC_ALGORITHMS, {
              error: `must list only ${ASYMMETRIC_ALGORITHMS.join(', ')} (never none or HS*)`,
            }),
          )
          .min(1),
      ),
    /** The claim naming the customer (a dotted path for nested claims). */
    AUTH_CUSTOMER_CLAIM: z.string().min(1).default('sub'),
    /** The claim holding roles or scopes (a string of space-separated values, or an array). */
    AUTH_STAFF_CLAIM: z.string().min(1).default('scope'),
    /** The value of AUTH_STAFF_CLAIM that makes a caller staff: it may read every customer's orders. */
    AUTH_STAFF_VALUE: z.string().min(1).default('orders:staff'),
    /** Leeway for exp and nbf, in seconds. */
    AUTH_CLOCK_TOLERANCE_S: env.int(5, 0, 300),
    /** Deadline of a discovery or JWKS request. */
    AUTH_JWKS_TIMEOUT_MS: env.int(5000, 100, 60_000),
    /** A token with an unknown key id refetches the JWKS (key rotation) at most this often. */
    AUTH_JWKS_COOLDOWN_MS: env.int(30_000, 0, 3_600_000),
    /**
     * Orders one client may POST per window (per customer when authenticated, per address
     * otherwise); 0 turns the limit off. More answer 429 with Retry-After.
     */
    RATE_LIMIT_MAX: env.int(60, 0, 1_000_000),
    RATE_LIMIT_WINDOW_MS: env.int(60_000, 1000, 3_600_000),
    /**
     * NATS, for the live order feed only (the query worker's announcements on
     * `orderflow.projected.order.<id>`, core NATS). The API starts and answers without it; live
     * streams then catch up on the sweep (SSE_HEARTBEAT_MS).
     */
    NATS_URL: env.natsUrl(),
    /** Live order streams (GET /api/orders/:id/events) one instance serves at once; more answer 503. */
    SSE_MAX_STREAMS: env.int(1000, 1, 100_000),
    /**
     * A heartbeat comment to every live stream this often; on the same tick the instance checks
     * the read model for the orders it streams and catches up any the live feed missed.
     */
    SSE_HEARTBEAT_MS: env.int(15_000, 100, 300_000),
  })
  .superRefine((c, ctx) => {
    if (c.AUTH_MODE === 'none') return;
    const issuer = issuerProblem(c.AUTH_MODE, c.AUTH_ISSUER);
    if (issuer) ctx.addIssue({ code: 'custom', path: ['AUTH_ISSUER'], message: issuer });
    const jwks = c.AUTH_JWKS_URL === undefined ? undefined : url(c.AUTH_JWKS_URL);
    if (c.AUTH_JWKS_URL !== undefined && !(jwks && fetchable(jwks)))
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'must be an https URL (http only on 127.0.0.1 or localhost)',
      });
  });
export type Config = z.infer<typeof configSchema>;

/** Whether a URL may be fetched without TLS: only on this machine. */
export const fetchableWithoutTls = (u: URL): boolean => isLoopback(u);
