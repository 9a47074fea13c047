/** The console's view of the order API: who is asking, and the answers as data or a problem. */

export type AuthMode = 'none' | 'dev' | 'oidc';

export interface Session {
  mode: AuthMode;
  /** The customer typed in (AUTH_MODE=none), or the token's subject. */
  customer: string;
  token: string;
}

export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
}

export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(describeProblem(problem));
  }
}

/** `400 items[0].quantity: must be an integer from 1 to 100`, one line per field. */
export function describeProblem(p: Problem): string {
  if (p.errors && p.errors.length > 0)
    return p.errors.map((e) => `${p.status} ${e.field}: ${e.message}`).join('\n');
  return `${p.status} ${p.title ?? 'error'}${p.detail ? `: ${p.detail}` : ''}`;
}

export const authHeaders = (s: Session): Record<string, string> =>
  s.mode !== 'none' && s.token ? { authorization: `Bearer ${s.token}` } : {};

export async function call<T>(
  s: Session,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...authHeaders(s),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiProblem({ status: 0, title: 'The order API cannot be reached' });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Problem;
  throw new ApiProblem({ ...p, status: res.status });
}

/** The `sub` of a JWT, read without verifying it (the API verifies): only to show who you are. */
export function subjectOf(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/** A token of the development issuer (make up AUTH=dev) for the customer. */
export async function devToken(issuer: string, customer: string): Promise<string> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
  if (!res.ok || typeof body.access_token !== 'string')
    throw new ApiProblem({ status: res.status, title: 'The development issuer gave no token' });
  return body.access_token;
}
