import { z } from 'zod';

/** Thrown (and printed as one line) when the environment does not satisfy a service's schema. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates the environment once, at start. On a bad value it throws a ConfigError whose message
 * is one line naming every offending variable; `runMain` prints it and exits 1.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    return value === undefined
      ? `${name}: ${issue.message}`
      : `${name}=${JSON.stringify(value)}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** Environment fragments shared by every service's schema. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  host: (fallback: string) => z.string().min(1).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  postgresUrl: () =>
    z
      .string({ error: 'is required (postgres://user@host:port/db)' })
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  natsUrl: () =>
    z
      .string()
      .default('nats://127.0.0.1:4222')
      .refine(
        (v) => v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s]+$/.test(u.trim())),
        'must be a comma-separated list of nats:// URLs',
      ),
  logLevel: () =>
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  address: (fallback: string) =>
    z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
      .default(fallback),
  optionalPath: () => z.string().min(1).optional(),
};

/** The ops server and logging keys every service shares. */
export const baseConfigShape = {
  LOG_LEVEL: env.logLevel(),
  OPS_HOST: env.host('0.0.0.0'),
  OPS_PORT: env.port(9090),
};

/** Keys of services that own SQL tables. */
export const databaseConfigShape = {
  DATABASE_URL: env.postgresUrl(),
  DATABASE_POOL_MAX: env.int(10, 1, 200),
  MIGRATE_ON_START: env.bool(true),
};

/** Keys of services that talk to JetStream. */
export const natsConfigShape = {
  NATS_URL: env.natsUrl(),
  NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a JetStream stream name')
    .default('ORDERS'),
};
