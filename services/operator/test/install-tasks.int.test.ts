import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { applyCrd, ensureSecrets, type EnsureSecretsSpec } from '../src/install-tasks';
import { FakeApiServer } from './helpers/fake-apiserver';

// No real API server can run on these machines: the install tasks run against FakeApiServer, the
// in-process fake of the API endpoints the operator calls (here Secrets and CRDs).

const NS = 'orderflow';
const ROOT = resolve(__dirname, '..', '..', '..');
const CRD = join(ROOT, 'charts', 'orderflow', 'crds', 'orderflow.io_orderflows.yaml');
let api: FakeApiServer;
let dir: string;
const lines: string[] = [];
const log = (l: string): void => void lines.push(l);

beforeEach(async () => {
  api = new FakeApiServer();
  await api.start();
  dir = mkdtempSync(join(tmpdir(), 'install-tasks-'));
  lines.length = 0;
});
afterEach(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

const decoded = (name: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(
      (api.get('secrets', NS, name)?.['data'] as Record<string, string> | undefined) ?? {},
    ).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );

const spec = (random: string[]): EnsureSecretsSpec => ({
  namespace: NS,
  labels: { 'app.kubernetes.io/instance': 'of' },
  secrets: [
    { name: 'of-nats-auth', random },
    { name: 'of-ca', files: { 'ca.crt': join(dir, 'ca.crt'), 'ca.key': join(dir, 'ca.key') } },
  ],
});

test('when the Secrets do not exist, then ensure-secrets creates them: random alphanumeric passwords, files as they are, and logs only names', async () => {
  writeFileSync(join(dir, 'ca.crt'), 'CERT-1');
  writeFileSync(join(dir, 'ca.key'), 'KEY-1');
  await ensureSecrets(api.kubeConfig(), spec(['payment', 'saga']), log);
  const auth = decoded('of-nats-auth');
  expect(Object.keys(auth).sort()).toEqual(['payment', 'saga']);
  for (const v of Object.values(auth)) expect(v).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(auth['payment']).not.toBe(auth['saga']);
  expect(decoded('of-ca')).toEqual({ 'ca.crt': 'CERT-1', 'ca.key': 'KEY-1' });
  expect(api.get('secrets', NS, 'of-ca')?.metadata['labels']).toEqual({
    'app.kubernetes.io/instance': 'of',
  });
  const output = lines.join('\n');
  for (const v of [...Object.values(auth), 'KEY-1']) expect(output).not.toContain(v);
  expect(lines).toEqual([
    'secret of-nats-auth: created with keys payment, saga',
    'secret of-ca: created with keys ca.crt, ca.key',
  ]);
});

test('when they exist (an upgrade, a second render), then no value changes: a new random key is added, a files Secret is kept whole', async () => {
  writeFileSync(join(dir, 'ca.crt'), 'CERT-1');
  writeFileSync(join(dir, 'ca.key'), 'KEY-1');
  await ensureSecrets(api.kubeConfig(), spec(['payment']), log);
  const before = decoded('of-nats-auth');
  // The next run generates a new CA (the self-signer always does) and knows one more user.
  writeFileSync(join(dir, 'ca.crt'), 'CERT-2');
  writeFileSync(join(dir, 'ca.key'), 'KEY-2');
  await ensureSecrets(api.kubeConfig(), spec(['payment', 'operator']), log);
  const after = decoded('of-nats-auth');
  expect(after['payment']).toBe(before['payment']);
  expect(after['operator']).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(decoded('of-ca')).toEqual({ 'ca.crt': 'CERT-1', 'ca.key': 'KEY-1' });
  expect(lines.slice(2)).toEqual([
    'secret of-nats-auth: exists, added keys operator; the others kept',
    'secret of-ca: exists, kept as it is',
  ]);
  // A third run changes nothing at all.
  const version = api.get('secrets', NS, 'of-nats-auth')?.metadata['resourceVersion'];
  await ensureSecrets(api.kubeConfig(), spec(['payment', 'operator']), log);
  expect(api.get('secrets', NS, 'of-nats-auth')?.metadata['resourceVersion']).toBe(version);
});

test('when apply-crd runs on an install and then an upgrade, then it creates the CRD and then replaces it at its resourceVersion', async () => {
  await applyCrd(api.kubeConfig(), CRD, log);
  const created = api.get('customresourcedefinitions', '', 'orderflows.orderflow.io');
  expect(created?.['spec']).toMatchObject({ group: 'orderflow.io', names: { kind: 'OrderFlow' } });
  // An older CRD is in the cluster: the upgrade puts this chart's back.
  api.objects.set('customresourcedefinitions//orderflows.orderflow.io', {
    ...created!,
    spec: { group: 'orderflow.io', versions: [] },
  });
  await applyCrd(api.kubeConfig(), CRD, log);
  const replaced = api.get('customresourcedefinitions', '', 'orderflows.orderflow.io');
  expect(
    (replaced?.['spec'] as { versions: { name: string }[] }).versions.map((v) => v.name),
  ).toEqual(['v1alpha1']);
  expect(lines).toEqual([
    'crd orderflows.orderflow.io: created',
    'crd orderflows.orderflow.io: replaced (versions v1alpha1)',
  ]);
  expect(api.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/orderflows.orderflow.io',
  ]);
});

test('when the operator binary runs ensure-secrets with a kubeconfig, then it creates the Secret and prints no value', async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(ROOT, 'services', 'operator', 'src', 'main.ts'),
      'ensure-secrets',
      '--spec',
      JSON.stringify({
        namespace: NS,
        secrets: [{ name: 'of-cockroachdb-passwords', random: ['saga'] }],
      }),
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfig } },
  );
  const password = decoded('of-cockroachdb-passwords')['saga'] ?? '';
  expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(stdout).toBe('ensure-secrets: secret of-cockroachdb-passwords: created with keys saga\n');
  expect(stdout).not.toContain(password);
  expect(readFileSync(kubeconfig, 'utf8')).toContain(api.url);
});
