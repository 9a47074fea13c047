import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { fetchableWithoutTls } from '../config';

/**
 * Verifies bearer JWTs against an OpenID Connect issuer's JWKS with jose: signature, issuer,
 * audience, expiry (required) and not-before, and an allow-list of asymmetric algorithms (the
 * config admits no `none` and no HS*, so a token "signed" with the public key as an HMAC secret
 * cannot verify). The JWKS is fetched on first use (from AUTH_JWKS_URL, or the issuer's discovery
 * document), cached, and refetched when a token names an unknown key id (key rotation).
 */

export interface VerifierOptions {
  issuer: string;
  audience: string;
  jwksUrl: string | undefined;
  algorithms: readonly string[];
  clockToleranceSeconds: number;
  timeoutMs: number;
  cooldownMs: number;
}

/** The token does not verify; `description` is a fixed text, never token content. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  constructor(readonly description: string) {
    super(description);
  }
}

/** The issuer's discovery document or JWKS cannot be fetched now: not the client's fault. */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

const claimProblems: Record<string, string> = {
  iss: 'the token is from another issuer',
  aud: 'the token is for another audience',
  nbf: 'the token is not valid yet',
  exp: 'the token has no valid expiry',
};

/** What is wrong with a token, by the error jose threw; fixed texts, never token content. */
const problems: [new (...args: never[]) => Error, string][] = [
  [errors.JWTExpired, 'the token has expired'],
  [errors.JOSEAlgNotAllowed, 'the token algorithm is not accepted'],
  [errors.JOSENotSupported, 'the token algorithm is not accepted'],
  [errors.JWKSNoMatchingKey, 'the token signing key is not known'],
  [errors.JWKSMultipleMatchingKeys, 'the token signing key is ambiguous'],
  [errors.JWSSignatureVerificationFailed, 'the token signature does not verify'],
  [errors.JWSInvalid, 'the token is malformed'],
  [errors.JWTInvalid, 'the token is malformed'],
  [errors.JWKInvalid, 'the token signing key is not usable'],
];

function describe(err: unknown): string | undefined {
  // Before the table: JWTExpired is a JWTClaimValidationFailed too.
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return claimProblems[err.claim] ?? 'the token claims are invalid';
  return problems.find(([type]) => err instanceof type)?.[1];
}

function checkedUrl(raw: unknown, what: string): URL {
  let u: URL;
  try {
    u = new URL(String(raw));
  } catch {
    throw new IssuerUnavailableError(`${what} is not a URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && fetchableWithoutTls(u)))
    throw new IssuerUnavailableError(`${what} is not https`);
  return u;
}

export class TokenVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly opts: VerifierOptions) {}

  private async discover(): Promise<JWTVerifyGetKey> {
    let jwksUrl: URL;
    if (this.opts.jwksUrl) {
      jwksUrl = checkedUrl(this.opts.jwksUrl, 'AUTH_JWKS_URL');
    } else {
      const url = `${this.opts.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      let doc: { issuer?: unknown; jwks_uri?: unknown };
      try {
        const res = await fetch(url, {
          signal: AbortSignal.timeout(this.opts.timeoutMs),
          headers: { accept: 'application/json' },
        });
        if (!res.ok) throw new Error(`status ${res.status}`);
        doc = (await res.json()) as typeof doc;
      } catch (err: unknown) {
        throw new IssuerUnavailableError(
          `discovery failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
      if (doc.issuer !== this.opts.issuer)
        throw new IssuerUnavailableError('the discovery document names another issuer');
      jwksUrl = checkedUrl(doc.jwks_uri, 'jwks_uri');
    }
    return createRemoteJWKSet(jwksUrl, {
      timeoutDuration: this.opts.timeoutMs,
      cooldownDuration: this.opts.cooldownMs,
    });
  }

  private getKeys(): Promise<JWTVerifyGetKey> {
    if (!this.keys) {
      const pending = this.discover();
      this.keys = pending;
      // A failed discovery is retried by the next request, not cached.
      pending.catch(() => {
        if (this.keys === pending) this.keys = undefined;
      });
    }
    return this.keys;
  }

  /** The verified claims of `token`; InvalidTokenError (401) or IssuerUnavailableError (503). */
  async verify(token: string): Promise<Record<string, unknown>> {
    const keys = await this.getKeys();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        algorithms: [...this.opts.algorithms],
        clockTolerance: this.opts.clockToleranceSeconds,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err: unknown) {
      const description = describe(err);
      if (description) throw new InvalidTokenError(description);
      throw new IssuerUnavailableError(
        `the issuer's keys cannot be fetched: ${err instanceof Error ? err.name : 'error'}`,
      );
    }
  }
}
