import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  NATS_USERS,
  ensureDatabase,
  natsAuthorizationConf,
  natsUrlWithCredentials,
  withDatabase,
  type NatsUser,
} from '@orderflow/platform';
import {
  freePort,
  startIssuer,
  startNats,
  startPostgres,
  waitFor,
  type DevIssuer,
  type NatsServer,
  type PostgresServer,
} from '@orderflow/testkit';
import { Supervised, type ProcessSpec } from './supervisor';

export const SERVICES = [
  'eventstore',
  'order-query-worker',
  'payment',
  'restaurant',
  'saga',
  'order-api',
] as const;
export type ServiceName = (typeof SERVICES)[number];

const DATABASES: Partial<Record<ServiceName, string>> = {
  eventstore: 'orderflow_eventstore',
  payment: 'orderflow_payment',
  restaurant: 'orderflow_restaurant',
  'order-query-worker': 'orderflow_query',
  'order-api': 'orderflow_query',
  saga: 'orderflow_saga',
};

export interface SystemOptions {
  /** Repository root (where services/*\/dist live). */
  root?: string;
  /** Folder for logs, data and endpoints.json. */
  runDir?: string;
  apiPort?: number;
  grpcPort?: number;
  queryWorkers?: number;
  /** Use an existing PostgreSQL (admin URL) instead of starting one. */
  postgresUrl?: string;
  /**
   * Use an existing NATS instead of starting one (its URL as the services get it). Otherwise the
   * runner starts nats-server with the users and permissions of @orderflow/platform's
   * natsPermissions, a fresh password each, and every service connects as its own user.
   */
  natsUrl?: string;
  /** Keep PostgreSQL and NATS data in runDir across runs (`make up`), instead of temporary folders. */
  persistent?: boolean;
  /** Extra environment for every service, and per service. */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Options for node before each service's script (the benchmarks' `--cpu-prof`). */
  nodeArgs?: string[];
  /** Print supervisor events (exits, restarts). */
  onEvent?: (name: string, message: string) => void;
  /** Services to start (default: all that are built). */
  only?: ServiceName[];
  /**
   * `none` (default): the order API runs with AUTH_MODE=none. `dev`: a local OpenID Connect issuer
   * (generated key, JWKS, token endpoint) on 127.0.0.1, the order API verifying its tokens, and its
   * token endpoint in endpoints.json for the CLI.
   */
  auth?: 'none' | 'dev';
}

/** How the order API authenticates, as endpoints.json tells the CLI. */
export type AuthEndpoint =
  { mode: 'none' } | { mode: 'dev'; issuer: string; tokenUrl: string; audience: string };

export interface Endpoint {
  http: string;
  grpc?: string;
}

export interface RunningSystem {
  endpoints: {
    services: Record<string, Endpoint>;
    postgres: string;
    /** With the runner's own NATS: the `admin` user's URL (`nats://admin:<password>@...`), for the local tools. */
    nats: string;
    api: string;
    auth: AuthEndpoint;
  };
  processes: Supervised[];
  /** The development issuer with `auth: 'dev'`. */
  issuer?: DevIssuer;
  postgres?: PostgresServer;
  nats?: NatsServer;
  /** The NATS URL a user connects with (credentials included when the runner started NATS). */
  natsUrl(user: NatsUser): string;
  databaseUrl(service: ServiceName): string;
  stop(): Promise<void>;
}

async function ready(url: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(`${url}/readyz`, async () => (await fetch(`${url}/readyz`)).ok, {
    timeoutMs,
    intervalMs: 200,
  });
}

interface Infrastructure {
  postgres: PostgresServer | undefined;
  nats: NatsServer | undefined;
  issuer: DevIssuer | undefined;
  adminUrl: string;
  /** The NATS URL a user connects with (credentials included when the runner started NATS). */
  natsUrl: (user: NatsUser) => string;
  auth: AuthEndpoint;
}

/** PostgreSQL, nats-server and the development issuer, unless given; each one's stop in `cleanup`. */
async function startInfrastructure(
  opts: SystemOptions,
  runDir: string,
  cleanup: (() => Promise<void>)[],
): Promise<Infrastructure> {
  const dataDir = (name: string) => {
    if (!opts.persistent) return undefined;
    const dir = join(runDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const postgres = opts.postgresUrl
    ? undefined
    : await startPostgres({ dataDir: dataDir('postgres'), durable: true });
  if (postgres) cleanup.push(() => postgres.stop());
  const stream = opts.env?.['NATS_STREAM'] ?? 'ORDERS';
  const passwords = Object.fromEntries(
    NATS_USERS.map((u) => [u, randomBytes(18).toString('base64url')]),
  ) as Record<NatsUser, string>;
  const nats = opts.natsUrl
    ? undefined
    : await startNats({
        dataDir: dataDir('nats'),
        config: natsAuthorizationConf(stream, passwords),
      });
  if (nats) cleanup.push(() => nats.stop());
  // The console at the API's origin asks the development issuer for tokens from the browser.
  const apiPort = opts.apiPort ?? 8080;
  const issuer =
    opts.auth === 'dev'
      ? await startIssuer({
          corsOrigins: [`http://127.0.0.1:${apiPort}`, `http://localhost:${apiPort}`],
        })
      : undefined;
  if (issuer) cleanup.push(() => issuer.stop());
  const auth: AuthEndpoint = issuer
    ? { mode: 'dev', issuer: issuer.issuer, tokenUrl: issuer.tokenUrl, audience: issuer.audience }
    : { mode: 'none' };
  const adminUrl = opts.postgresUrl ?? postgres!.url;
  const natsUrl = (user: NatsUser): string =>
    opts.natsUrl ?? natsUrlWithCredentials(nats!.url, user, passwords[user]);
  return { postgres, nats, issuer, adminUrl, natsUrl, auth };
}

/** Defaults per service that the caller's env and serviceEnv may override. */
function serviceDefaults(root: string, auth: AuthEndpoint) {
  const catalogFile = join(root, 'config', 'catalog.json');
  const defaults: Partial<Record<ServiceName, Record<string, string>>> = {
    restaurant: { CATALOG_FILE: catalogFile },
    // The order API prices orders from the restaurant's catalog.
    'order-api': {
      CATALOG_FILE: catalogFile,
      AUTH_MODE: auth.mode,
      ...(auth.mode === 'dev' ? { AUTH_ISSUER: auth.issuer, AUTH_AUDIENCE: auth.audience } : {}),
    },
  };
  return defaults;
}

interface Launch {
  opts: SystemOptions;
  root: string;
  logDir: string;
  infra: Infrastructure;
  eventstoreAddress: string;
  databaseUrl: (s: ServiceName) => string;
  endpoints: RunningSystem['endpoints'];
  processes: Supervised[];
}

/** Spawns one supervised service process on a free ops port; resolves with its ops URL. */
async function spawnService(
  l: Launch,
  service: ServiceName,
  name: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const { opts, root } = l;
  const opsPort = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: 'info',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: String(opsPort),
    // Each service connects as its own NATS user (the order API for its live order feed).
    NATS_URL: l.infra.natsUrl(service),
    EVENTSTORE_ADDRESS: l.eventstoreAddress,
    DATABASE_URL: l.databaseUrl(service),
    OTEL_SERVICE_NAME: service,
    ...serviceDefaults(root, l.infra.auth)[service],
    ...opts.env,
    ...opts.serviceEnv?.[service],
    ...extra,
  };
  const spec: ProcessSpec = {
    name,
    service,
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), join(root, 'services', service, 'dist', 'main.js')],
    env,
    cwd: root,
    logFile: join(l.logDir, `${name}.log`),
  };
  const p = new Supervised(spec, opts.onEvent);
  p.start();
  l.processes.push(p);
  const http = `http://127.0.0.1:${opsPort}`;
  l.endpoints.services[name] = { http };
  return http;
}

const PHASES: ServiceName[][] = [
  ['eventstore'],
  ['order-query-worker', 'payment', 'restaurant', 'saga'],
  ['order-api'],
];

/** The processes of one service: the event store and the API on their fixed ports, N workers. */
function launchService(l: Launch, service: ServiceName): Promise<string>[] {
  const { opts } = l;
  switch (service) {
    case 'eventstore':
      return [
        spawnService(l, service, service, {
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: String(opts.grpcPort ?? 50051),
        }),
      ];
    case 'order-api':
      return [
        spawnService(l, service, service, {
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(opts.apiPort ?? 8080),
        }),
      ];
    case 'order-query-worker':
      return Array.from({ length: opts.queryWorkers ?? 2 }, (_, i) =>
        spawnService(l, service, `${service}-${i + 1}`),
      );
    case 'payment':
    case 'restaurant':
    case 'saga':
      return [spawnService(l, service, service)];
    default: {
      const never: never = service;
      throw new Error(`unknown service ${String(never)}`);
    }
  }
}

/** The services that are built (the others are reported and skipped). */
function wantedServices(opts: SystemOptions, root: string): ServiceName[] {
  return (opts.only ?? [...SERVICES]).filter((s) => {
    if (existsSync(join(root, 'services', s, 'dist', 'main.js'))) return true;
    opts.onEvent?.(s, 'not built (services/' + s + '/dist/main.js missing); skipped');
    return false;
  });
}

/** Stops in reverse dependency order (the API first, the event store last), then the infrastructure. */
async function stopAll(processes: Supervised[], cleanup: (() => Promise<void>)[]): Promise<void> {
  const order = [...processes].reverse();
  for (const phase of [...PHASES].reverse())
    await Promise.all(
      order.filter((p) => phase.includes(p.spec.service as ServiceName)).map((p) => p.stop()),
    );
  for (const c of cleanup.reverse()) await c();
}

/** Every wanted service, phase by phase, each phase ready before the next starts. */
async function launchAll(l: Launch, root: string): Promise<void> {
  const wanted = wantedServices(l.opts, root);
  for (const phase of PHASES) {
    const urls = phase.filter((s) => wanted.includes(s)).flatMap((s) => launchService(l, s));
    await Promise.all((await Promise.all(urls)).map((u) => ready(u)));
  }
  if (l.endpoints.services['eventstore'])
    l.endpoints.services['eventstore'].grpc = l.eventstoreAddress;
}

/**
 * Starts the whole system on one machine: PostgreSQL and nats-server (embedded defaults, on free
 * ports, unless URLs are given), then every service as its own supervised process, in dependency
 * order, each one ready before the next phase starts.
 */
export async function startSystem(opts: SystemOptions = {}): Promise<RunningSystem> {
  const root = resolve(opts.root ?? process.cwd());
  const runDir = resolve(opts.runDir ?? join(root, '.run'));
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const infra = await startInfrastructure(opts, runDir, cleanup);
    for (const db of new Set(Object.values(DATABASES))) await ensureDatabase(infra.adminUrl, db);
    const databaseUrl = (s: ServiceName): string =>
      withDatabase(infra.adminUrl, DATABASES[s] ?? 'postgres');
    const endpoints: RunningSystem['endpoints'] = {
      services: {},
      postgres: infra.adminUrl,
      // The admin user's URL (`nats://admin:<password>@...`), for the local tools.
      nats: infra.natsUrl('admin'),
      api: `http://127.0.0.1:${opts.apiPort ?? 8080}`,
      auth: infra.auth,
    };
    const processes: Supervised[] = [];
    const eventstoreAddress = `127.0.0.1:${opts.grpcPort ?? 50051}`;
    const launch = {
      opts,
      root,
      logDir,
      infra,
      eventstoreAddress,
      databaseUrl,
      endpoints,
      processes,
    };
    await launchAll(launch, root);
    writeFileSync(join(runDir, 'endpoints.json'), JSON.stringify(endpoints, null, 2) + '\n');
    const { postgres, nats, issuer } = infra;
    const stop = () => stopAll(processes, cleanup);
    const natsUrl = infra.natsUrl;
    return { endpoints, processes, postgres, nats, issuer, natsUrl, databaseUrl, stop };
  } catch (err: unknown) {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
