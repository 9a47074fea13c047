import { parseArgs } from 'node:util';
import { redactNatsUrl, redactUrl } from '@orderflow/platform';
import { startSystem } from './system';

const HELP = `make up / node tools/runner/dist/main.js: run the whole orderflow system locally.

Starts PostgreSQL and nats-server (embedded defaults on free 127.0.0.1 ports, data kept in .run/),
then every service as its own process (two order query workers), restarts a service that exits,
and stops everything cleanly on Ctrl-C. Writes .run/endpoints.json and logs to .run/logs/.

options:
  --api-port <n>        order API port (default 8080, env ORDERFLOW_API_PORT)
  --grpc-port <n>       event store gRPC port (default 50051, env ORDERFLOW_GRPC_PORT)
  --query-workers <n>   order query worker replicas (default 2)
  --postgres-url <url>  use this PostgreSQL (admin URL) instead of starting one (env ORDERFLOW_POSTGRES_URL)
  --nats-url <url>      use this NATS instead of starting one (env ORDERFLOW_NATS_URL)
  --auth <none|dev>     how the order API authenticates (default none, env ORDERFLOW_AUTH; make up AUTH=dev):
                          none  no token needed; anyone who can reach 127.0.0.1 may act as any customer
                          dev   a local OpenID Connect issuer (generated key, JWKS) on 127.0.0.1; the
                                order API wants its bearer tokens; the CLI gets them by itself and
                                \`npm run -s orders -- token --customer c1\` prints one for curl
  --ephemeral           keep no data between runs
  -h, --help            this text

Everything listens on 127.0.0.1 only. The order API prices orders from config/catalog.json and limits
each client to RATE_LIMIT_MAX (60) orders a minute.`;

const { values } = parseArgs({
  options: {
    'api-port': { type: 'string', default: process.env['ORDERFLOW_API_PORT'] ?? '8080' },
    'grpc-port': { type: 'string', default: process.env['ORDERFLOW_GRPC_PORT'] ?? '50051' },
    'query-workers': { type: 'string', default: '2' },
    'postgres-url': { type: 'string', default: process.env['ORDERFLOW_POSTGRES_URL'] },
    'nats-url': { type: 'string', default: process.env['ORDERFLOW_NATS_URL'] },
    auth: { type: 'string', default: process.env['ORDERFLOW_AUTH'] || 'none' },
    ephemeral: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const num = (name: string, v: string, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer from ${min} to ${max}, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};

const log = (msg: string): void => void process.stdout.write(`[runner] ${msg}\n`);

if (values.auth !== 'none' && values.auth !== 'dev') {
  process.stderr.write(`--auth must be none or dev, got "${values.auth}"\n`);
  process.exit(2);
}
const authMode: 'none' | 'dev' = values.auth;

/** How to place an order, for the banner: without a token, or with one from the dev issuer. */
function tryLines(api: string): string[] {
  const body = `'{"restaurantId":"trattoria","items":[{"code":"margherita","quantity":2}]}'`;
  if (authMode === 'dev')
    return [
      'auth: dev (bearer tokens from the local issuer; the CLI fetches them itself)',
      '',
      'try:  npm run orders -- place --customer c1 --restaurant trattoria --item margherita:2 --wait',
      '      TOKEN=$(npm run -s orders -- token --customer c1)',
      `      curl -s -XPOST ${api}/api/orders -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
      `        -d ${body}`,
      `      curl -s ${api}/api/orders -H "authorization: Bearer $TOKEN"`,
    ];
  return [
    'auth: none (no token needed: anyone who can reach 127.0.0.1 may act as any customer;',
    '      make up AUTH=dev runs a local issuer and asks for bearer tokens)',
    '',
    `try:  curl -s -XPOST ${api}/api/orders -H 'content-type: application/json' \\`,
    `        -d '{"customerId":"c1","restaurantId":"trattoria","items":[{"code":"margherita","quantity":2}]}'`,
    '      npm run orders -- place --customer c1 --restaurant trattoria --item margherita:2 --wait',
  ];
}

async function main(): Promise<void> {
  log('starting PostgreSQL, nats-server and the services ...');
  const system = await startSystem({
    apiPort: num('api-port', values['api-port'], 1, 65535),
    grpcPort: num('grpc-port', values['grpc-port'], 1, 65535),
    queryWorkers: num('query-workers', values['query-workers'], 1, 16),
    postgresUrl: values['postgres-url'],
    natsUrl: values['nats-url'],
    persistent: !values.ephemeral,
    auth: authMode,
    onEvent: (name, message) => log(`${name}: ${message}`),
  });
  const rows = Object.entries(system.endpoints.services).map(
    ([name, e]) => `  ${name.padEnd(22)} ${e.http}${e.grpc ? `   gRPC ${e.grpc}` : ''}`,
  );
  log(
    [
      'orderflow is up',
      `  console                ${system.endpoints.api}/   (open it in a browser)`,
      `  API reference          ${system.endpoints.api}/docs   (${system.endpoints.api}/openapi.json)`,
      `  order API              ${system.endpoints.api}/api/orders`,
      `  postgres               ${redactUrl(system.endpoints.postgres)}`,
      `  nats                   ${redactNatsUrl(system.endpoints.nats)}${system.nats ? ' (user admin, its URL in .run/endpoints.json; each service has its own user)' : ''}`,
      '  health, readiness and metrics (/healthz /readyz /metrics):',
      ...rows,
      ...(system.endpoints.auth.mode === 'dev'
        ? [`  dev issuer             ${system.endpoints.auth.issuer} (JWKS, token endpoint)`]
        : []),
      '  logs: .run/logs/   endpoints: .run/endpoints.json',
      '',
      ...tryLines(system.endpoints.api),
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log('stopping ...');
    system
      .stop()
      .then(() => {
        log('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log(`stop failed: ${String(err)}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[runner] failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
