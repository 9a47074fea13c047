import type { Logger } from '@orderflow/platform';
import {
  InvalidTokenError,
  IssuerUnavailableError,
  TokenVerifier,
} from './adapters/token-verifier';
import type { Config } from './config';
import { principalOf, type ClaimRules, type Principal } from './domain/auth';
import { fail } from './domain/problems';

/** The caller of one request, from its Authorization header; throws the 401 or 503 to answer. */
export type Authenticate = (authorization: string | string[] | undefined) => Promise<Principal>;

// RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_TOKEN_CHARS = 8192;
const ANONYMOUS: Principal = { kind: 'anonymous' };

/**
 * The authentication of AUTH_MODE: `none` lets everyone through as anonymous (and warns at start);
 * `oidc` and `dev` verify a bearer JWT against the issuer's JWKS and take the customer from the
 * configured claim. Nothing here logs or returns token content.
 */
export function createAuthenticator(config: Config, logger: Logger): Authenticate {
  if (config.AUTH_MODE === 'none') {
    logger.warn(
      { authMode: 'none' },
      'AUTH_MODE=none: the order API does not authenticate; anyone who can reach it may order and read as any customer',
    );
    return () => Promise.resolve(ANONYMOUS);
  }
  const verifier = new TokenVerifier({
    issuer: config.AUTH_ISSUER ?? '',
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
    algorithms: config.AUTH_ALGORITHMS,
    clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_S,
    timeoutMs: config.AUTH_JWKS_TIMEOUT_MS,
    cooldownMs: config.AUTH_JWKS_COOLDOWN_MS,
  });
  const rules: ClaimRules = {
    customerClaim: config.AUTH_CUSTOMER_CLAIM,
    staffClaim: config.AUTH_STAFF_CLAIM,
    staffValue: config.AUTH_STAFF_VALUE,
  };
  logger.info(
    {
      authMode: config.AUTH_MODE,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      algorithms: config.AUTH_ALGORITHMS,
    },
    'bearer tokens required',
  );
  return bearerAuthentication(verifier, rules, logger);
}

/** The token of a bearer Authorization header, or the 401 it answers. */
function bearerToken(authorization: string | string[] | undefined): string {
  if (authorization === undefined || authorization === '') throw fail({ code: 'unauthenticated' });
  const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
  if (!match?.[1] || match[1].length > MAX_TOKEN_CHARS)
    throw fail({
      code: 'unauthenticated',
      error: 'invalid_request',
      description: 'the Authorization header must be one "Bearer <token>"',
    });
  return match[1];
}

/** Verifies the bearer token and takes the principal from its claims. */
function bearerAuthentication(
  verifier: TokenVerifier,
  rules: ClaimRules,
  logger: Logger,
): Authenticate {
  return async (authorization) => {
    let claims: Record<string, unknown>;
    try {
      claims = await verifier.verify(bearerToken(authorization));
    } catch (err: unknown) {
      if (err instanceof InvalidTokenError)
        throw fail({
          code: 'unauthenticated',
          error: 'invalid_token',
          description: err.description,
        });
      if (err instanceof IssuerUnavailableError) {
        logger.warn({ reason: err.message }, 'identity provider unavailable');
        throw fail({ code: 'unavailable', dependency: 'identity provider', retryAfterSeconds: 5 });
      }
      throw err;
    }
    const p = principalOf(claims, rules);
    if (!p.ok)
      throw fail({ code: 'unauthenticated', error: 'invalid_token', description: p.reason });
    return p.principal;
  };
}
