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

  let postgres: PostgresServer | undefined;
  let nats: NatsServer | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    if (!opts.postgresUrl) {
      const dataDir = opts.persistent ? join(runDir, 'postgres') : undefined;
      if (dataDir) mkdirSync(dataDir, { recursive: true });
      postgres = await startPostgres({ dataDir, durable: true });
      cleanup.push(() => postgres!.stop());
    }
    const adminUrl = opts.postgresUrl ?? postgres!.url;
    const stream = opts.env?.['NATS_STREAM'] ?? 'ORDERS';
    const passwords = Object.fromEntries(
      NATS_USERS.map((u) => [u, randomBytes(18).toString('base64url')]),
    ) as Record<NatsUser, string>;
    if (!opts.natsUrl) {
      const dataDir = opts.persistent ? join(runDir, 'nats') : undefined;
      if (dataDir) mkdirSync(dataDir, { recursive: true });
      nats = await startNats({ dataDir, config: natsAuthorizationConf(stream, passwords) });
      cleanup.push(() => nats!.stop());
    }
    const natsUrlOf = (user: NatsUser): string =>
      opts.natsUrl ?? natsUrlWithCredentials(nats!.url, user, passwords[user]);
    const natsUrl = natsUrlOf('admin');
    let issuer: DevIssuer | undefined;
    if (opts.auth === 'dev') {
      issuer = await startIssuer();
      cleanup.push(() => issuer!.stop());
    }
    const auth: AuthEndpoint = issuer
      ? { mode: 'dev', issuer: issuer.issuer, tokenUrl: issuer.tokenUrl, audience: issuer.audience }
      : { mode: 'none' };
    for (const db of new Set(Object.values(DATABASES))) await ensureDatabase(adminUrl, db);
    const databaseUrl = (s: ServiceName): string =>
      withDatabase(adminUrl, DATABASES[s] ?? 'postgres');

    const apiPort = opts.apiPort ?? 8080;
    const grpcPort = opts.grpcPort ?? 50051;
    const eventstoreAddress = `127.0.0.1:${grpcPort}`;
    const built = (s: ServiceName): boolean =>
      existsSync(join(root, 'services', s, 'dist', 'main.js'));
    const wanted = (opts.only ?? [...SERVICES]).filter((s) => {
      if (built(s)) return true;
      opts.onEvent?.(s, 'not built (services/' + s + '/dist/main.js missing); skipped');
      return false;
    });

    const endpoints: RunningSystem['endpoints'] = {
      services: {},
      postgres: adminUrl,
      nats: natsUrl,
      api: `http://127.0.0.1:${apiPort}`,
      auth,
    };
    const processes: Supervised[] = [];
    // Defaults per service that the caller's env and serviceEnv may override.
    const catalogFile = join(root, 'config', 'catalog.json');
    const serviceDefaults: Partial<Record<ServiceName, Record<string, string>>> = {
      restaurant: { CATALOG_FILE: catalogFile },
      // The order API prices orders from the restaurant's catalog.
      'order-api': {
        CATALOG_FILE: catalogFile,
        AUTH_MODE: auth.mode,
        ...(auth.mode === 'dev' ? { AUTH_ISSUER: auth.issuer, AUTH_AUDIENCE: auth.audience } : {}),
      },
    };
    const spawnService = async (
      service: ServiceName,
      name: string,
      extra: Record<string, string> = {},
    ): Promise<string> => {
      const opsPort = await freePort();
      const env: Record<string, string> = {
        LOG_LEVEL: 'info',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        // Each service connects as its own NATS user; the order API does not use NATS.
        ...(service === 'order-api' ? {} : { NATS_URL: natsUrlOf(service) }),
        EVENTSTORE_ADDRESS: eventstoreAddress,
        DATABASE_URL: databaseUrl(service),
        OTEL_SERVICE_NAME: service,
        ...serviceDefaults[service],
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
        logFile: join(logDir, `${name}.log`),
      };
      const p = new Supervised(spec, opts.onEvent);
      p.start();
      processes.push(p);
      const http = `http://127.0.0.1:${opsPort}`;
      endpoints.services[name] = { http };
      return http;
    };

    const phases: ServiceName[][] = [
      ['eventstore'],
      ['order-query-worker', 'payment', 'restaurant', 'saga'],
      ['order-api'],
    ];
    for (const phase of phases) {
      const urls: Promise<string>[] = [];
      for (const service of phase.filter((s) => wanted.includes(s))) {
        if (service === 'eventstore') {
          urls.push(
            spawnService(service, service, { GRPC_HOST: '127.0.0.1', GRPC_PORT: String(grpcPort) }),
          );
        } else if (service === 'order-api') {
          urls.push(
            spawnService(service, service, { HTTP_HOST: '127.0.0.1', HTTP_PORT: String(apiPort) }),
          );
        } else if (service === 'order-query-worker') {
          for (let i = 1; i <= (opts.queryWorkers ?? 2); i++)
            urls.push(spawnService(service, `${service}-${i}`));
        } else {
          urls.push(spawnService(service, service));
        }
      }
      await Promise.all((await Promise.all(urls)).map((u) => ready(u)));
    }
    if (endpoints.services['eventstore']) endpoints.services['eventstore'].grpc = eventstoreAddress;
    writeFileSync(join(runDir, 'endpoints.json'), JSON.stringify(endpoints, null, 2) + '\n');

    return {
      endpoints,
      processes,
      postgres,
      nats,
      issuer,
      natsUrl: natsUrlOf,
      databaseUrl,
      async stop() {
        // Reverse dependency order: the API first, the event store last.
        const order = [...processes].reverse();
        for (const phase of [...phases].reverse())
          await Promise.all(
            order.filter((p) => phase.includes(p.spec.service as ServiceName)).map((p) => p.stop()),
          );
        for (const c of cleanup.reverse()) await c();
      },
    };
  } catch (err: unknown) {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
