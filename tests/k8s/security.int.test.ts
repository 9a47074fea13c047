import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  NATS_USERS,
  natsPermissions,
  parseNatsAuthorization,
  type NatsPermissions,
} from '@orderflow/platform';
import {
  CHART,
  RELEASE,
  VALUE_SETS,
  byKind,
  find,
  helm,
  render,
  templateArgs,
  type Container,
  type K8sObject,
  type Workload,
} from './helpers';

/**
 * The chart's secure defaults, offline: NATS users (against the TypeScript table the runtime
 * tests use), Secrets that no render regenerates, CockroachDB TLS (modes, SANs, keys at 0400, no
 * password on any command line). CockroachDB cannot run on these machines (no image, no binary),
 * so its TLS is checked here, in the rendered manifests, and nowhere at run time.
 */

const name = (s: string): string => `${RELEASE}-${s}`;
type ConfigMap = K8sObject & { data: Record<string, string> };
type Secret = K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> };

const natsConf = (objects: K8sObject[]): string =>
  find<ConfigMap>(objects, 'ConfigMap', name('nats-config')).data['nats.conf'] ?? '';

/** Users whose permissions differ between a rendered nats.conf and the table. */
function permissionDiff(conf: string, stream: string): string[] {
  const rendered = parseNatsAuthorization(conf);
  const table = natsPermissions(stream);
  const out: string[] = [];
  const key = (p: NatsPermissions | null): string =>
    p ? JSON.stringify({ pub: [...p.publish].sort(), sub: [...p.subscribe].sort() }) : 'all';
  for (const u of new Set([...Object.keys(rendered), ...NATS_USERS])) {
    const r = rendered[u];
    const t = table[u as keyof typeof table];
    if (!r) out.push(`${u}: not in nats.conf`);
    else if (t === undefined) out.push(`${u}: in nats.conf, not in the table`);
    else if (key(r.permissions) !== key(t)) out.push(`${u}: ${key(r.permissions)} != ${key(t)}`);
  }
  return out;
}

const containersOf = (w: Workload): Container[] => [
  ...(w.spec.template.spec.initContainers ?? []),
  ...w.spec.template.spec.containers,
];

describe('NATS users', () => {
  test('when the chart renders nats.conf, then every user has exactly the permissions of platform natsPermissions, password from its environment variable', () => {
    for (const [stream, extra] of [
      ['ORDERS', []],
      ['EVENTS', ['--set', 'natsStream=EVENTS']],
    ] as const) {
      const conf = natsConf(render(undefined, [...extra]));
      expect([stream, permissionDiff(conf, stream)]).toEqual([stream, []]);
      const users = parseNatsAuthorization(conf);
      expect(Object.keys(users)).toEqual([...NATS_USERS]);
      expect(users['order-query-worker']?.password).toBe('$NATS_PASSWORD_ORDER_QUERY_WORKER');
    }
  });

  test('when a grant in nats.conf is wrong, then the comparison names the user', () => {
    const conf = natsConf(render());
    const wider = conf.replace('"orderflow.deadletter.payment"', '"orderflow.deadletter.>"');
    expect(permissionDiff(wider, 'ORDERS')).toEqual([expect.stringMatching(/^payment: /)]);
    // Every user's grants name the stream but admin's (everything) and the order API's (no stream).
    expect(permissionDiff(conf, 'EVENTS').length).toBe(NATS_USERS.length - 2);
  });

  test('when NATS runs in the cluster, then its pods read every password from the auth Secret and each service connects as itself', () => {
    const objects = render();
    const nats = find<Workload>(objects, 'StatefulSet', name('nats')).spec.template.spec
      .containers[0];
    for (const u of NATS_USERS)
      expect(nats?.env).toContainEqual({
        name: `NATS_PASSWORD_${u.toUpperCase().replace(/-/g, '_')}`,
        valueFrom: { secretKeyRef: { name: name('nats-auth'), key: u } },
      });
    for (const svc of [
      'eventstore',
      'payment',
      'restaurant',
      'order-query-worker',
      'saga',
      'operator',
      'order-api',
    ]) {
      const env =
        find<Workload>(objects, 'Deployment', name(svc)).spec.template.spec.containers[0]?.env ??
        [];
      const names = env.map((e) => e.name);
      expect(names.indexOf('NATS_PASSWORD')).toBeLessThan(names.indexOf('NATS_URL'));
      expect(env.find((e) => e.name === 'NATS_URL')?.value).toBe(
        `nats://${svc}:$(NATS_PASSWORD)@${name('nats')}:4222`,
      );
    }
    // The order API listens to the live order feed only: no stream.
    expect(
      find<Workload>(
        objects,
        'Deployment',
        name('order-api'),
      ).spec.template.spec.containers[0]?.env?.some((e) => e.name === 'NATS_STREAM'),
    ).toBe(false);
  });

  test('when NATS TLS is asked for, then the server has a tls block and the services connect with tls:// trusting its CA', () => {
    const objects = render(undefined, ['--set', 'nats.tls.enabled=true']);
    expect(natsConf(objects)).toMatch(/tls \{\n {2}cert_file: \/etc\/nats-tls\/tls\.crt/);
    const pod = find<Workload>(objects, 'Deployment', name('saga')).spec.template.spec;
    const env = new Map((pod.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.get('NATS_URL')).toBe(`tls://saga:$(NATS_PASSWORD)@${name('nats')}:4222`);
    expect(env.get('NODE_EXTRA_CA_CERTS')).toBe('/etc/orderflow/nats-ca/ca.crt');
    expect(pod.volumes?.find((v) => v.name === 'nats-ca')?.secret?.secretName).toBe(
      name('nats-tls'),
    );
  });

  test('when NATS auth is switched off, then nats.conf has no users and the URLs no credentials', () => {
    const objects = render(undefined, ['--set', 'nats.auth.enabled=false']);
    expect(natsConf(objects)).not.toContain('authorization');
    expect(
      find<Workload>(
        objects,
        'Deployment',
        name('saga'),
      ).spec.template.spec.containers[0]?.env?.find((e) => e.name === 'NATS_URL')?.value,
    ).toBe(`nats://${name('nats')}:4222`);
  });
});

describe('Secrets that survive any renderer', () => {
  test.each(VALUE_SETS.map((v) => [v ?? 'defaults', v]))(
    'when %s is rendered twice, then every Secret is identical',
    (_l, v) => {
      const secrets = (): Secret[] => byKind<Secret>(render(v), 'Secret');
      expect(secrets()).toEqual(secrets());
    },
  );

  test('when a template is read, then it uses no random or time function (a render would differ)', () => {
    const dir = join(CHART, 'templates');
    const files = readdirSync(dir, { recursive: true }) as string[];
    const offenders = files
      .filter((f) => /\.(yaml|tpl|txt)$/.test(f))
      .filter((f) =>
        /\b(randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|uuidv4|genCA|genPrivateKey|genSelfSignedCert|genSignedCert|now)\b/.test(
          readFileSync(join(dir, f), 'utf8'),
        ),
      );
    expect(offenders).toEqual([]);
  });

  test('when the defaults render, then a pre-install/pre-upgrade Job ensures the passwords and certificates, allowed only those Secrets', () => {
    const objects = render();
    const job = find<Workload & { metadata: { annotations: Record<string, string> } }>(
      objects,
      'Job',
      name('secrets'),
    );
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const command = job.spec.template.spec.containers[0]?.command ?? [];
    expect(command.slice(0, 4)).toEqual([
      'node',
      'services/operator/dist/main.js',
      'ensure-secrets',
      '--spec',
    ]);
    const spec = JSON.parse(command[4] ?? '{}') as {
      secrets: { name: string; random?: string[]; files?: Record<string, string> }[];
    };
    expect(
      spec.secrets.map((s) => [s.name, s.random ?? Object.keys(s.files ?? {}).sort()]),
    ).toEqual([
      [name('nats-auth'), [...NATS_USERS]],
      [
        name('cockroachdb-passwords'),
        ['eventstore', 'order-api', 'payment', 'restaurant', 'order-query-worker', 'saga'],
      ],
      [name('ca'), ['ca.crt', 'ca.key']],
      [name('cockroachdb-node'), ['ca.crt', 'tls.crt', 'tls.key']],
      [name('cockroachdb-client-root'), ['ca.crt', 'tls.crt', 'tls.key']],
    ]);
    const role = find<K8sObject & { rules: { verbs: string[]; resourceNames?: string[] }[] }>(
      objects,
      'Role',
      name('secrets'),
    );
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: spec.secrets.map((s) => s.name),
        verbs: ['get', 'update'],
      },
    ]);
    // No Secret is rendered at all: nothing for a renderer to regenerate.
    expect(byKind(objects, 'Secret')).toEqual([]);
  });

  test('when every Secret is your own (the container run), then no hook Job renders', () => {
    const objects = render('ci/kube-values.yaml');
    expect(byKind(objects, 'Job').map((j) => j.metadata.name)).toEqual([]);
    expect(
      render(undefined, [
        '--set',
        'nats.auth.existingSecret=mine',
        '--set',
        'cockroachdb.tls.passwordsSecret=pw',
        '--set',
        'cockroachdb.tls.certsSecret=certs',
      ]).filter((o) => o.metadata.name === name('secrets')),
    ).toEqual([]);
  });

  test('when a rendered Secret or nats.conf changes, then the checksum annotation rolls the pods that read it', () => {
    const annotation = (objects: K8sObject[], kind: string, n: string, key: string) =>
      (
        find<Workload>(objects, kind, n).spec.template as {
          metadata: { annotations?: Record<string, string> };
        }
      ).metadata.annotations?.[key];
    const ext = (url: string) =>
      render('ci/external-values.yaml', ['--set', `cockroachdb.external.urls.saga=${url}`]);
    const a = annotation(
      ext('postgresql://saga@a:26257/x'),
      'Deployment',
      name('saga'),
      'checksum/database-urls',
    );
    const b = annotation(
      ext('postgresql://saga@b:26257/x'),
      'Deployment',
      name('saga'),
      'checksum/database-urls',
    );
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).not.toBe(a);
    const c1 = annotation(render(), 'StatefulSet', name('nats'), 'checksum/config');
    const c2 = annotation(
      render(undefined, ['--set', 'natsStream=EVENTS']),
      'StatefulSet',
      name('nats'),
      'checksum/config',
    );
    expect(c2).not.toBe(c1);
  });
});

describe('CockroachDB TLS (checked offline: CockroachDB cannot run here)', () => {
  const sts = (objects: K8sObject[]) => find<Workload>(objects, 'StatefulSet', name('cockroachdb'));
  const initJob = (objects: K8sObject[]) =>
    byKind<Workload>(objects, 'Job').find((j) =>
      j.metadata.name.startsWith(name('cockroachdb-init')),
    )!;

  test('when the defaults render, then CockroachDB runs secure with keys copied at 0400 and no permission-check bypass', () => {
    const objects = render();
    const pod = sts(objects).spec.template.spec;
    const db = pod.containers[0]!;
    expect(db.args).toContain('--certs-dir=/cockroach/cockroach-certs');
    expect(db.args).not.toContain('--insecure');
    expect(db.startupProbe?.httpGet?.scheme).toBe('HTTPS');
    const copy = pod.initContainers?.find((c) => c.name === 'copy-certs');
    expect(copy?.args?.[0]).toContain('chmod 0400 /cockroach/cockroach-certs/node.key');
    expect(pod.volumes?.find((v) => v.name === 'certs')?.emptyDir).toEqual({
      medium: 'Memory',
      sizeLimit: '1Mi',
    });
    expect(pod.volumes?.find((v) => v.name === 'certs-secret')?.secret?.secretName).toBe(
      name('cockroachdb-node'),
    );
    const all = JSON.stringify(objects);
    expect(all).not.toContain('COCKROACH_SKIP_KEY_PERMISSION_CHECK');
    expect(initJob(objects).spec.template.spec.initContainers?.[0]?.args?.[0]).toContain(
      'chmod 0400 /cockroach-certs/client.root.key',
    );
  });

  test('when insecure is chosen (the dev values), then nodes and clients say so and nothing mounts certificates', () => {
    const objects = render('ci/dev-values.yaml');
    expect(sts(objects).spec.template.spec.containers[0]?.args).toContain('--insecure');
    expect(sts(objects).spec.template.spec.initContainers).toBeUndefined();
    expect(initJob(objects).spec.template.spec.containers[0]?.args?.[0]).toContain(
      'FLAGS=--insecure',
    );
  });

  /** Every host name a client or a peer uses to reach a node, read from the rendered objects. */
  function namesThatConnect(objects: K8sObject[]): string[] {
    const hosts = new Set<string>(['localhost']);
    const set = sts(objects);
    const args = set.spec.template.spec.containers[0]?.args ?? [];
    for (const a of args) {
      const join = /^--join=(.*)$/.exec(a)?.[1];
      if (join) for (const h of join.split(',')) hosts.add(h.replace(/:\d+$/, ''));
      const adv = /^--advertise-host=\$\(POD_NAME\)\.(.*)$/.exec(a)?.[1];
      if (adv)
        for (let i = 0; i < (set.spec.replicas ?? 1); i++)
          hosts.add(`${name('cockroachdb')}-${i}.${adv}`);
    }
    for (const w of byKind<Workload>(objects, 'Deployment').concat(
      byKind<Workload>(objects, 'Job'),
    ))
      for (const c of containersOf(w)) {
        for (const e of c.env ?? [])
          if (e.name === 'DATABASE_URL' && e.value)
            hosts.add(new URL(e.value.replace('$(DATABASE_PASSWORD)', 'x')).hostname);
        for (const m of (c.args ?? []).join('\n').matchAll(/--host=([^:\s]+):26257/g))
          hosts.add(m[1]!);
      }
    return [...hosts].sort();
  }

  const covered = (host: string, sans: string[]): boolean =>
    sans.some(
      (s) =>
        s === host ||
        (s.startsWith('*.') &&
          host.endsWith(s.slice(1)) &&
          !host.slice(0, -s.length + 1).includes('.')),
    );

  test('when the self-signer or cert-manager makes the node certificate, then its SANs cover every name that connects', () => {
    const objects = render();
    const script =
      find<Workload>(objects, 'Job', name('secrets')).spec.template.spec.initContainers?.[0]
        ?.args?.[0] ?? '';
    const line = script.split('\n').find((l) => l.includes('cert create-node')) ?? '';
    const selfSigned = [...line.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    const names = namesThatConnect(objects);
    expect(names).toContain(`${name('cockroachdb-public')}`);
    expect(names).toContain(
      `${name('cockroachdb')}-2.${name('cockroachdb')}.orderflow.svc.cluster.local`,
    );
    expect(names.filter((h) => !covered(h, selfSigned))).toEqual([]);
    const prod = render('ci/production-values.yaml');
    const cert = find<
      K8sObject & { spec: { dnsNames: string[]; ipAddresses: string[]; commonName: string } }
    >(prod, 'Certificate', name('cockroachdb-node'));
    expect(cert.spec.commonName).toBe('node');
    expect(namesThatConnect(prod).filter((h) => !covered(h, cert.spec.dnsNames))).toEqual([]);
    // A SAN missing is found: the public Service's short name, which every service connects to.
    const without = selfSigned.filter((s) => s !== name('cockroachdb-public'));
    expect(names.filter((h) => !covered(h, without))).toEqual([name('cockroachdb-public')]);
  });

  test('when passwords are in play, then none reaches a command line: $(VAR) in commands names no secret, and SQL goes on stdin', () => {
    for (const v of VALUE_SETS) {
      const objects = render(v);
      for (const w of objects.filter((o): o is Workload =>
        ['Deployment', 'StatefulSet', 'Job'].includes(o.kind),
      ))
        for (const c of containersOf(w)) {
          const fromSecrets = new Set(
            (c.env ?? [])
              .filter((e) => e.valueFrom && 'secretKeyRef' in e.valueFrom)
              .map((e) => e.name),
          );
          const argv = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
          for (const m of argv.matchAll(/\$\(([A-Z0-9_]+)\)/g))
            expect([w.metadata.name, c.name, fromSecrets.has(m[1]!)]).toEqual([
              w.metadata.name,
              c.name,
              false,
            ]);
          expect(argv).not.toContain('--execute');
        }
    }
    const sql = initJob(render()).spec.template.spec.containers[0]?.args?.[0] ?? '';
    expect(sql).toMatch(/cockroach sql \$FLAGS --host=of-cockroachdb-public:26257 <<SQL\n/);
    expect(sql).toContain("ALTER USER payment WITH PASSWORD '${PAYMENT_PASSWORD}';");
  });

  test('when your own certificates Secret is named (chart 0.1.0 style), then its keys are mapped as cockroach expects', () => {
    const objects = render(undefined, ['--set', 'cockroachdb.tls.certsSecret=mine']);
    expect(sts(objects).spec.template.spec.volumes?.find((v) => v.name === 'certs-secret')).toEqual(
      {
        name: 'certs-secret',
        secret: {
          secretName: 'mine',
          defaultMode: 0o400,
          items: [
            { key: 'ca.crt', path: 'ca.crt' },
            { key: 'node.crt', path: 'node.crt' },
            { key: 'node.key', path: 'node.key' },
          ],
        },
      },
    );
    expect(
      objects.filter((o) => o.metadata.name === name('secrets') && o.kind === 'Job'),
    ).toHaveLength(1);
  });

  test('when the helm output is scanned, then no template renders a value that looks like a password', () => {
    const r = helm(templateArgs());
    expect(r.stdout).not.toMatch(/password:\s*["']?[A-Za-z0-9]{16,}/i);
  });
});
