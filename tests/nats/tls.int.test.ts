import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { NATS_USERS, natsAuthorizationConf, type NatsUser } from '@orderflow/platform';
import { startNats, type NatsServer } from '@orderflow/testkit';

/**
 * The chart's NATS TLS path (nats.tls.enabled) on a real nats-server: the server has a `tls` block
 * with a certificate from a private CA; a service connects with `tls://<user>:<password>@host` and
 * trusts the CA only through NODE_EXTRA_CA_CERTS, as the chart sets it (no code reads a CA file).
 * The certificates are made here with openssl.
 */

const ROOT = resolve(__dirname, '..', '..');
let dir: string;
let nats: NatsServer;
const passwords = Object.fromEntries(
  NATS_USERS.map((u) => [u, `pw${u.replace(/-/g, '')}`]),
) as Record<NatsUser, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nats-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=orderflow-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=of-nats',
    '-keyout',
    'tls.key',
    '-out',
    'tls.csr',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,DNS:of-nats\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'tls.crt',
  );
  nats = await startNats({
    config:
      natsAuthorizationConf('ORDERS', passwords) +
      `tls {\n  cert_file: ${JSON.stringify(join(dir, 'tls.crt'))}\n  key_file: ${JSON.stringify(join(dir, 'tls.key'))}\n  timeout: 3\n}\n`,
  });
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A child process connecting as `payment`: with connectNats, as a service starts (it retries
 * forever, so only a success is awaited), or with nats.js once (`once`), to see why it fails.
 */
async function connectAs(url: string, env: Record<string, string>, once = false): Promise<string> {
  const script = once
    ? `
    const { connect } = require('@nats-io/transport-node');
    const { natsConnectOptions } = require(process.argv[2]);
    connect({ ...natsConnectOptions(process.argv[1]), reconnect: false, timeout: 5000 })
      .then(async (nc) => { console.log('connected', nc.getServer()); await nc.close(); })
      .catch((err) => { console.log('failed', err.message, err.cause ? err.cause.message : ''); process.exit(1); });`
    : `
    const { connectNats, createLogger, jsManager } = require(process.argv[2]);
    connectNats(process.argv[1], createLogger('tls-test', 'silent'), 'tls-test')
      .then(async (nc) => { await (await jsManager(nc)).getAccountInfo(); console.log('connected', nc.getServer()); await nc.close(); })
      .catch((err) => { console.log('failed', err.message); process.exit(1); });`;
  const r = await promisify(execFile)(
    process.execPath,
    [
      '-r',
      join(ROOT, 'node_modules', 'tsx', 'dist', 'cjs', 'index.cjs'),
      '-e',
      script,
      url,
      join(ROOT, 'packages', 'platform', 'src', 'index.ts'),
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 },
  ).catch((err: { stdout?: string; message?: string }) => ({
    stdout: err.stdout ?? err.message ?? '',
  }));
  return r.stdout.trim();
}

test('when a service connects with tls:// and NODE_EXTRA_CA_CERTS names the CA, then TLS and its user work', async () => {
  const out = await connectAs(`tls://payment:${passwords.payment}@localhost:${nats.port}`, {
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'),
  });
  expect(out).toBe(`connected localhost:${nats.port}`);
});

test('when the CA is not trusted, then the connection fails on the certificate', async () => {
  const out = await connectAs(
    `tls://payment:${passwords.payment}@localhost:${nats.port}`,
    {},
    true,
  );
  expect(out).toMatch(/^failed .*(self[- ]signed|unable to verify|certificate)/i);
});
