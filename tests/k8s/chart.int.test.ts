import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NATS_USERS, natsPasswordVariable } from '@orderflow/platform';
import {
  AUTH_CHOICE,
  CHART,
  DEFAULT_ISSUER,
  NAMESPACE,
  RELEASE,
  SERVICES,
  VALUE_SETS,
  hasOperator,
  byKind,
  find,
  helm,
  isWorkload,
  render,
  selects,
  templateArgs,
  type Container,
  type K8sObject,
  type NetworkPolicy,
  type PodSpec,
  type Workload,
} from './helpers';

// Render every value set once; the checks below read the cached objects.
const rendered = new Map<string, K8sObject[]>();
const label = (v: string | undefined): string => v ?? 'defaults';
const objectsOf = (v: string | undefined): K8sObject[] => {
  const o = rendered.get(label(v));
  if (!o) throw new Error(`${label(v)} was not rendered`);
  return o;
};

beforeAll(() => {
  for (const v of VALUE_SETS) rendered.set(label(v), render(v));
}, 120_000);

const name = (svc: string): string => `${RELEASE}-${svc}`;

function podContainers(w: Workload): { c: Container; init: boolean }[] {
  const spec = w.spec.template.spec;
  return [
    ...spec.containers.map((c) => ({ c, init: false })),
    ...(spec.initContainers ?? []).map((c) => ({ c, init: true })),
  ];
}

/** The egress flows of a pod, as `target:port`, read from the rendered policies that select it. */
function egressOf(objects: K8sObject[], podLabels: Record<string, string>): string[] {
  const flows: string[] = [];
  for (const p of byKind<NetworkPolicy>(objects, 'NetworkPolicy')) {
    if (!selects(p.spec.podSelector.matchLabels, podLabels)) continue;
    for (const rule of p.spec.egress ?? []) {
      const targets = (rule.to ?? [{ ipBlock: { cidr: '*' } }]).map(
        (t) =>
          t.podSelector?.matchLabels?.['app.kubernetes.io/name'] ??
          t.podSelector?.matchLabels?.['k8s-app'] ??
          (t.ipBlock ? `ip:${t.ipBlock.cidr}` : t.namespaceSelector ? 'namespace' : '?'),
      );
      for (const t of targets)
        for (const port of rule.ports ?? [{ port: '*' }]) flows.push(`${t}:${String(port.port)}`);
    }
  }
  return [...new Set(flows)].sort();
}

describe('helm lint and template', () => {
  test.each(VALUE_SETS.map((v) => [label(v), v]))(
    'when linting %s with --strict, then helm reports no error',
    (_l, v) => {
      const r = helm([
        'lint',
        '--strict',
        CHART,
        '--namespace',
        NAMESPACE,
        ...(v ? ['-f', join(CHART, v)] : AUTH_CHOICE),
      ]);
      expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
      expect(r.status).toBe(0);
    },
  );

  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then every orderflow service is a Deployment',
    (l) => {
      const objects = rendered.get(l) ?? [];
      const deployments = byKind(objects, 'Deployment').map((d) => d.metadata.name);
      const expected = SERVICES.filter((s) => s !== 'operator' || l !== 'ci/kube-values.yaml');
      expect(deployments.sort()).toEqual(expected.map(name).sort());
      // Only the kube value set leaves the operator out (the container run has no API server).
      expect(hasOperator(objects)).toBe(l !== 'ci/kube-values.yaml');
    },
  );
});

describe('values.schema.json', () => {
  test.each([
    ['eventstore.replicaCont=2', 'replicaCont'],
    ['cockroachdb.tls.enable=true', 'enable'],
    ['queryWorker.replicasManagedByOperatr=true', 'replicasManagedByOperatr'],
    ['imagee.tag=1', 'imagee'],
  ])('when a value key is misspelt (%s), then helm template fails naming it', (set, key) => {
    const r = helm(templateArgs(undefined, ['--set', set]));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`Additional property ${key} is not allowed`);
  });

  test('when a value has the wrong type or image tag latest, then helm template fails', () => {
    expect(helm(templateArgs(undefined, ['--set', 'eventstore.replicaCount=two'])).status).not.toBe(
      0,
    );
    expect(helm(templateArgs(undefined, ['--set', 'image.tag=latest'])).status).not.toBe(0);
    expect(helm(templateArgs(undefined, ['--set', 'logLevel=loud'])).status).not.toBe(0);
  });

  test('when walking the schema, then every object with properties forbids additional ones', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as unknown;
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      // `global` is shared with parent charts, which may set keys of their own there.
      if (
        o['properties'] !== undefined &&
        o['additionalProperties'] !== false &&
        path !== '/properties/global'
      )
        open.push(path || '/');
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  test('when a chart value exists, then the README values table documents it', () => {
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const keys: string[] = [];
    const walk = (v: unknown, path: string): void => {
      if (
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.keys(v).length > 0 &&
        !/(Labels|Annotations|Selector|urls|spec|resources|SecurityContext|securityContext|probes|requests|limits)$/.test(
          path,
        )
      ) {
        for (const [k, c] of Object.entries(v as Record<string, unknown>))
          walk(c, path ? `${path}.${k}` : k);
      } else keys.push(path);
    };
    walk(values, '');
    // The seven service blocks share one shape, documented once as `<service>.<key>`.
    const services = [
      'eventstore',
      'orderApi',
      'payment',
      'restaurant',
      'queryWorker',
      'saga',
      'operator',
    ];
    const documented = (k: string): boolean => {
      const [head, ...rest] = k.split('.');
      if (readme.includes(`\`${k}\``)) return true;
      return (
        services.includes(head ?? '') &&
        readme.includes(`\`<service>.${rest.join('.')}\``) &&
        readme.includes(`\`${head}\``)
      );
    };
    expect(keys.length).toBeGreaterThan(100);
    expect(keys.filter((k) => !documented(k))).toEqual([]);
  });
});

describe('containers follow the secure defaults', () => {
  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then every long-running container has the three probes on declared ports',
    (l) => {
      const problems: string[] = [];
      for (const w of (rendered.get(l) ?? []).filter(isWorkload)) {
        if (w.kind === 'Job') continue;
        for (const c of w.spec.template.spec.containers) {
          const ports = new Set((c.ports ?? []).map((p) => p.name));
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
            const p = c[probe];
            if (!p?.httpGet) problems.push(`${w.metadata.name}/${c.name}: no ${probe}`);
            else if (typeof p.httpGet.port === 'string' && !ports.has(p.httpGet.port))
              problems.push(
                `${w.metadata.name}/${c.name}: ${probe} names undeclared port ${p.httpGet.port}`,
              );
          }
        }
      }
      expect(problems).toEqual([]);
    },
  );

  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then every container has requests, limits and a locked-down securityContext',
    (l) => {
      const problems: string[] = [];
      for (const w of (rendered.get(l) ?? []).filter(isWorkload)) {
        const pod = w.spec.template.spec;
        for (const { c } of podContainers(w)) {
          const id = `${w.kind}/${w.metadata.name}/${c.name}`;
          for (const k of ['cpu', 'memory']) {
            if (!c.resources?.requests?.[k]) problems.push(`${id}: no ${k} request`);
            if (!c.resources?.limits?.[k]) problems.push(`${id}: no ${k} limit`);
          }
          const sc = c.securityContext ?? {};
          if (!(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot))
            problems.push(`${id}: runAsNonRoot`);
          if (sc.readOnlyRootFilesystem !== true) problems.push(`${id}: readOnlyRootFilesystem`);
          if (sc.allowPrivilegeEscalation !== false)
            problems.push(`${id}: allowPrivilegeEscalation`);
          if (!sc.capabilities?.drop?.includes('ALL'))
            problems.push(`${id}: capabilities.drop ALL`);
          if ((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== 'RuntimeDefault')
            problems.push(`${id}: seccomp RuntimeDefault`);
        }
        if (!pod.topologySpreadConstraints?.length && w.kind !== 'Job')
          problems.push(`${w.metadata.name}: no topologySpreadConstraints`);
      }
      expect(problems).toEqual([]);
    },
  );

  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then no image uses latest or goes untagged',
    (l) => {
      const images = (rendered.get(l) ?? [])
        .filter(isWorkload)
        .flatMap((w) => podContainers(w).map(({ c }) => c.image));
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) {
        expect(image).toMatch(/(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/);
        expect(image).not.toMatch(/:latest$/);
      }
    },
  );

  test('when rendering the defaults, then the services run the documented command, with /tmp writable', () => {
    for (const svc of SERVICES) {
      const pod = find<Workload>(objectsOf(undefined), 'Deployment', name(svc)).spec.template.spec;
      expect(pod.containers[0]?.command).toEqual(['node', `services/${svc}/dist/main.js`]);
      expect(pod.containers[0]?.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
      expect(pod.containers[0]?.ports?.find((p) => p.name === 'ops')?.containerPort).toBe(9090);
    }
  });
});

describe('workloads', () => {
  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then every Deployment and StatefulSet has a PodDisruptionBudget',
    (l) => {
      const objects = rendered.get(l) ?? [];
      const pdbs = byKind<
        K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }
      >(objects, 'PodDisruptionBudget');
      const uncovered = objects
        .filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet')
        .filter(
          (w) =>
            !pdbs.some((p) =>
              selects(p.spec.selector.matchLabels, w.spec.template.metadata.labels),
            ),
        )
        .map((w) => w.metadata.name);
      expect(uncovered).toEqual([]);
    },
  );

  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then every Service selects pods and targets their declared ports',
    (l) => {
      const objects = rendered.get(l) ?? [];
      const workloads = objects.filter(isWorkload);
      const problems: string[] = [];
      for (const s of byKind<
        K8sObject & {
          spec: { selector: Record<string, string>; ports: { targetPort: string | number }[] };
        }
      >(objects, 'Service')) {
        const pods = workloads.filter((w) =>
          selects(s.spec.selector, w.spec.template.metadata.labels),
        );
        if (pods.length === 0) problems.push(`${s.metadata.name}: selects no pods`);
        for (const p of s.spec.ports) {
          if (typeof p.targetPort !== 'string') continue;
          for (const w of pods)
            if (
              !w.spec.template.spec.containers.some((c) =>
                c.ports?.some((cp) => cp.name === p.targetPort),
              )
            )
              problems.push(`${s.metadata.name}: ${w.metadata.name} has no port ${p.targetPort}`);
        }
      }
      expect(problems).toEqual([]);
    },
  );

  test("when the operator is enabled, then it owns the query workers' replica count and helm leaves it alone, unless told otherwise", () => {
    const replicas = (objects: K8sObject[]): number | undefined =>
      find<Workload>(objects, 'Deployment', name('order-query-worker')).spec.replicas;
    // The defaults and the dev set run the operator: no replicas, so `helm upgrade` does not reset its scaling.
    expect(replicas(objectsOf(undefined))).toBeUndefined();
    expect(replicas(objectsOf('ci/dev-values.yaml'))).toBeUndefined();
    expect(
      replicas(render(undefined, ['--set', 'queryWorker.replicasManagedByOperator=false'])),
    ).toBe(2);
    expect(replicas(render(undefined, ['--set', 'operator.enabled=false']))).toBe(2);
    expect(replicas(objectsOf('ci/kube-values.yaml'))).toBe(1);
  });

  test("when the chart renders the event store and the operator, then the stream follows the NATS replicas and the Lease is the release's own", () => {
    const envOf = (objects: K8sObject[], svc: string, key: string): string | undefined =>
      find<Workload>(objects, 'Deployment', name(svc)).spec.template.spec.containers[0]?.env?.find(
        (e) => e.name === key,
      )?.value;
    expect(envOf(objectsOf(undefined), 'eventstore', 'NATS_STREAM_REPLICAS')).toBe('3');
    expect(envOf(objectsOf('ci/dev-values.yaml'), 'eventstore', 'NATS_STREAM_REPLICAS')).toBe('1');
    expect(envOf(objectsOf('ci/external-values.yaml'), 'eventstore', 'NATS_STREAM_REPLICAS')).toBe(
      '3',
    );
    expect(envOf(objectsOf(undefined), 'operator', 'LEASE_NAME')).toBe(`${RELEASE}-operator`);
    const other = render(undefined, [], 'other');
    expect(
      find<Workload>(
        other,
        'Deployment',
        'other-operator',
      ).spec.template.spec.containers[0]?.env?.find((e) => e.name === 'LEASE_NAME')?.value,
    ).toBe('other-operator');
  });

  test('when the order API is deleted, then it waits in preStop and then drains for the configured seconds within its grace period', () => {
    const pod = find<Workload>(objectsOf(undefined), 'Deployment', name('order-api')).spec.template
      .spec;
    const c = pod.containers[0]!;
    expect(c.lifecycle?.preStop?.exec?.command).toEqual(['sleep', '5']);
    expect(c.env?.find((e) => e.name === 'SHUTDOWN_DRAIN_MS')?.value).toBe('6000');
    expect(5 + 6).toBeLessThan(pod.terminationGracePeriodSeconds ?? 30);
    const none = find<Workload>(
      render(undefined, ['--set', 'orderApi.drain.preStopSeconds=0']),
      'Deployment',
      name('order-api'),
    ).spec.template.spec.containers[0]!;
    expect(none.lifecycle).toBeUndefined();
  });

  test("when the rebuild Job is enabled, then it runs rebuild with the query worker's database and the event store address, and may reach both", () => {
    expect(byKind(objectsOf(undefined), 'Job').map((j) => j.metadata.name)).not.toContain(
      `${RELEASE}-order-query-worker-rebuild-1`,
    );
    const o = render(undefined, ['--set', 'queryWorker.rebuild.enabled=true']);
    const job = find<Workload>(o, 'Job', `${RELEASE}-order-query-worker-rebuild-1`);
    const c = job.spec.template.spec.containers[0]!;
    expect(c.command).toEqual([
      'node',
      'services/order-query-worker/dist/main.js',
      'rebuild',
      '--truncate',
    ]);
    const env = new Map((c.env ?? []).map((e) => [e.name, e.value ?? 'from-secret']));
    expect(env.get('EVENTSTORE_ADDRESS')).toBe(`${RELEASE}-eventstore:50051`);
    expect(env.has('DATABASE_URL')).toBe(true);
    expect(egressOf(o, job.spec.template.metadata.labels)).toEqual(
      ['cockroachdb:26257', 'eventstore:50051', 'kube-dns:53'].sort(),
    );
  });

  test('when helm test runs, then its pod places an order through the order API Service with the CLI, and may reach it', () => {
    const testPod = (objects: K8sObject[]) =>
      find<K8sObject & { spec: PodSpec }>(objects, 'Pod', `${RELEASE}-test-order-flow`);
    const dev = objectsOf('ci/dev-values.yaml');
    const pod = testPod(dev);
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    expect(pod.spec.containers[0]?.command).toEqual([
      'node',
      'tools/cli/dist/main.js',
      'place',
      '--api',
      `http://${RELEASE}-order-api:8080`,
      '--customer',
      'helm-test',
      '--restaurant',
      'trattoria',
      '--item',
      'margherita:1',
      '--wait',
      '--timeout',
      '120',
    ]);
    expect(egressOf(dev, pod.metadata.labels ?? {})).toEqual(['kube-dns:53', 'order-api:8080']);
    // With an issuer, it orders as the customer of a token from tests.tokenSecret...
    const withToken = testPod(
      render(undefined, ['--set', 'tests.tokenSecret.name=helm-test-token']),
    ).spec.containers[0]!;
    expect(withToken.command).not.toContain('--customer');
    expect(withToken.env).toEqual([
      {
        name: 'ORDERFLOW_TOKEN',
        valueFrom: { secretKeyRef: { name: 'helm-test-token', key: 'token' } },
      },
    ]);
    // ...and without one it fails saying what to set, rather than passing without testing.
    expect(testPod(objectsOf(undefined)).spec.containers[0]?.command?.join(' ')).toMatch(
      /process.exit\(1\)/,
    );
  });

  test('when rendering the defaults, then services with SQL migrate in an init container and not again at start', () => {
    for (const svc of ['eventstore', 'payment', 'restaurant', 'order-query-worker', 'saga']) {
      const pod = find<Workload>(objectsOf(undefined), 'Deployment', name(svc)).spec.template.spec;
      expect(pod.initContainers?.map((c) => c.command)).toEqual([
        ['node', `services/${svc}/dist/main.js`, 'migrate'],
      ]);
      expect(pod.containers[0]?.env).toContainEqual({ name: 'MIGRATE_ON_START', value: 'false' });
    }
    for (const svc of ['order-api', 'operator'])
      expect(
        find<Workload>(objectsOf(undefined), 'Deployment', name(svc)).spec.template.spec
          .initContainers,
      ).toBeUndefined();
  });

  test('when rendering the defaults, then each service reaches its own database and order-api the query database', () => {
    const url = (svc: string): string | undefined =>
      find<Workload>(
        objectsOf(undefined),
        'Deployment',
        name(svc),
      ).spec.template.spec.containers[0]?.env?.find((e) => e.name === 'DATABASE_URL')?.value;
    // Secure by default: a password from the Secret, verify-full against the release's CA.
    expect(url('eventstore')).toBe(
      `postgresql://eventstore:$(DATABASE_PASSWORD)@${RELEASE}-cockroachdb-public:26257/orderflow_eventstore?sslmode=verify-full&sslrootcert=/etc/orderflow/cockroachdb/ca.crt`,
    );
    expect(url('order-api')).toBe(
      `postgresql://order_api:$(DATABASE_PASSWORD)@${RELEASE}-cockroachdb-public:26257/orderflow_query?sslmode=verify-full&sslrootcert=/etc/orderflow/cockroachdb/ca.crt`,
    );
    const devUrl = find<Workload>(
      objectsOf('ci/dev-values.yaml'),
      'Deployment',
      name('payment'),
    ).spec.template.spec.containers[0]?.env?.find((e) => e.name === 'DATABASE_URL')?.value;
    expect(devUrl).toBe(
      `postgresql://payment@${RELEASE}-cockroachdb-public:26257/orderflow_payment?sslmode=disable`,
    );
    expect(url('order-query-worker')).toContain('/orderflow_query?');
    expect(url('payment')).toContain('/orderflow_payment?');
    expect(url('restaurant')).toContain('/orderflow_restaurant?');
    expect(url('saga')).toContain('/orderflow_saga?');
    expect(url('operator')).toBeUndefined();
  });

  test('when CockroachDB is secure, then services log in with a password over verify-full TLS', () => {
    const objects = objectsOf('ci/production-values.yaml');
    const env =
      find<Workload>(objects, 'Deployment', name('payment')).spec.template.spec.containers[0]
        ?.env ?? [];
    const names = env.map((e) => e.name);
    expect(names.indexOf('DATABASE_PASSWORD')).toBeLessThan(names.indexOf('DATABASE_URL'));
    expect(env.find((e) => e.name === 'DATABASE_URL')?.value).toBe(
      `postgresql://payment:$(DATABASE_PASSWORD)@${RELEASE}-cockroachdb-public:26257/orderflow_payment?sslmode=verify-full&sslrootcert=/etc/orderflow/cockroachdb/ca.crt`,
    );
    const db = find<Workload>(objects, 'StatefulSet', name('cockroachdb')).spec.template.spec
      .containers[0];
    expect(db?.args).toContain('--certs-dir=/cockroach/cockroach-certs');
    expect(db?.args).not.toContain('--insecure');
  });

  test('when the operator runs, then only it mounts a service account token, with the documented env', () => {
    for (const svc of SERVICES) {
      const pod = find<Workload>(objectsOf(undefined), 'Deployment', name(svc)).spec.template.spec;
      expect(pod.automountServiceAccountToken).toBe(svc === 'operator');
      expect(pod.serviceAccountName).toBe(name(svc));
    }
    const env =
      find<Workload>(objectsOf(undefined), 'Deployment', name('operator')).spec.template.spec
        .containers[0]?.env ?? [];
    expect(env).toContainEqual({
      name: 'WATCH_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    expect(env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    expect(env).toContainEqual({
      name: 'NATS_URL',
      value: `nats://operator:$(NATS_PASSWORD)@${RELEASE}-nats:4222`,
    });
    expect(env).toContainEqual({
      name: 'NATS_PASSWORD',
      valueFrom: { secretKeyRef: { name: `${RELEASE}-nats-auth`, key: 'operator' } },
    });
    expect(env).toContainEqual({ name: 'NATS_STREAM', value: 'ORDERS' });
    expect(env).toContainEqual({ name: 'OPS_PORT', value: '9090' });
  });

  test('when the operator is disabled, then neither it, its RBAC nor the OrderFlow resource render', () => {
    const kinds = render(undefined, ['--set', 'operator.enabled=false']).map(
      (o) => `${o.kind}/${o.metadata.name}`,
    );
    expect(kinds).not.toContain(`Deployment/${name('operator')}`);
    expect(kinds).not.toContain(`Role/${name('operator')}`);
    expect(kinds).not.toContain(`OrderFlow/${RELEASE}`);
    expect(kinds).not.toContain(`NetworkPolicy/${name('operator')}`);
  });

  test('when a service reads runtime tunables, then the optional <release>-runtime ConfigMap is mounted and RUNTIME_CONFIG_FILE points into it', () => {
    for (const svc of ['order-api', 'payment', 'restaurant', 'order-query-worker', 'saga']) {
      const pod = find<Workload>(objectsOf(undefined), 'Deployment', name(svc)).spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: 'runtime',
        configMap: { name: `${RELEASE}-runtime`, optional: true },
      });
      expect(pod.containers[0]?.volumeMounts).toContainEqual({
        name: 'runtime',
        mountPath: '/etc/orderflow/runtime',
        readOnly: true,
      });
      expect(pod.containers[0]?.env).toContainEqual({
        name: 'RUNTIME_CONFIG_FILE',
        value: '/etc/orderflow/runtime/runtime.json',
      });
    }
  });

  test('when the operator role is rendered, then it is bound to the operator (its rules: operator-rbac.int.test.ts)', () => {
    const binding = find<K8sObject & { subjects: unknown[] }>(
      objectsOf(undefined),
      'RoleBinding',
      name('operator'),
    );
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: name('operator'), namespace: NAMESPACE },
    ]);
  });
});

describe('CockroachDB and NATS', () => {
  const initScript = (v: string | undefined): string => {
    const job = byKind<Workload>(objectsOf(v), 'Job').find((j) =>
      j.metadata.name.startsWith(`${RELEASE}-cockroachdb-init-`),
    );
    return job?.spec.template.spec.containers[0]?.args?.join('\n') ?? '';
  };

  test('when the cluster has 3 nodes, then the init Job runs cockroach init, creates the five databases and grants per service', () => {
    const sql = initScript(undefined);
    expect(sql).toContain('cockroach init');
    for (const db of [
      'orderflow_eventstore',
      'orderflow_payment',
      'orderflow_restaurant',
      'orderflow_query',
      'orderflow_saga',
    ])
      expect(sql).toContain(`CREATE DATABASE IF NOT EXISTS ${db};`);
    expect(sql.match(/CREATE DATABASE/g)).toHaveLength(5);
    expect(sql).toContain('GRANT ALL ON DATABASE orderflow_payment TO payment;');
    expect(sql).toContain('GRANT ALL ON DATABASE orderflow_query TO order_query_worker;');
    expect(sql).toContain(
      'ALTER DEFAULT PRIVILEGES FOR ROLE order_query_worker IN SCHEMA public GRANT SELECT ON TABLES TO order_api;',
    );
    expect(sql).not.toMatch(/GRANT ALL ON DATABASE \w+ TO order_api/);
    const db = find<Workload>(objectsOf(undefined), 'StatefulSet', name('cockroachdb'));
    expect(db.spec.replicas).toBe(3);
    expect(db.spec.template.spec.containers[0]?.args?.[0]).toBe('start');
  });

  test('when the dev values ask for one node, then CockroachDB starts single-node and the Job skips cockroach init', () => {
    expect(initScript('ci/dev-values.yaml')).not.toContain('cockroach init');
    const db = find<Workload>(objectsOf('ci/dev-values.yaml'), 'StatefulSet', name('cockroachdb'));
    expect(db.spec.replicas).toBe(1);
    expect(db.spec.template.spec.containers[0]?.args?.[0]).toBe('start-single-node');
    expect(
      find<Workload>(objectsOf('ci/dev-values.yaml'), 'StatefulSet', name('nats')).spec.replicas,
    ).toBe(1);
  });

  test('when CockroachDB and NATS are external, then no StatefulSet or Job renders and the services read the external URLs', () => {
    const objects = objectsOf('ci/external-values.yaml');
    expect(objects.filter((o) => ['StatefulSet', 'Job'].includes(o.kind))).toEqual([]);
    const env =
      find<Workload>(objects, 'Deployment', name('saga')).spec.template.spec.containers[0]?.env ??
      [];
    expect(env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: `${RELEASE}-database-urls`, key: 'saga' } },
    });
    // Each service connects as its own NATS user (nats.auth), with the password of your Secret.
    expect(env.find((e) => e.name === 'NATS_URL')?.value).toBe(
      ['nats-0', 'nats-1', 'nats-2']
        .map((h) => `nats://saga:$(NATS_PASSWORD)@${h}.nats.messaging:4222`)
        .join(','),
    );
    expect(env).toContainEqual({
      name: 'NATS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'orderflow-nats-users', key: 'saga' } },
    });
    const secret = find<K8sObject & { stringData: Record<string, string> }>(
      objects,
      'Secret',
      `${RELEASE}-database-urls`,
    );
    expect(Object.keys(secret.stringData).sort()).toEqual([
      'eventstore',
      'order-api',
      'order-query-worker',
      'payment',
      'restaurant',
      'saga',
    ]);
    const r = helm(
      templateArgs('ci/external-values.yaml', ['--set', 'cockroachdb.external.urls.saga=']),
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('cockroachdb.external.urls.saga is required');
  });

  test.each([
    ['defaults', undefined],
    ['dev', 'ci/dev-values.yaml'],
  ])(
    'when nats-server %s reads the rendered nats.conf, then it accepts the configuration',
    (_l, v) => {
      const cm = find<K8sObject & { data: Record<string, string> }>(
        objectsOf(v),
        'ConfigMap',
        `${RELEASE}-nats-config`,
      );
      const conf = cm.data['nats.conf'] ?? '';
      const dir = mkdtempSync(join(tmpdir(), 'nats-conf-'));
      writeFileSync(join(dir, 'nats.conf'), conf);
      // The passwords come from the environment, as the StatefulSet sets it from the Secret.
      const passwords = Object.fromEntries(
        NATS_USERS.map((u) => [natsPasswordVariable(u), `pw-${u}`]),
      );
      const r = spawnSync('nats-server', ['-c', join(dir, 'nats.conf'), '-t'], {
        encoding: 'utf8',
        env: { ...process.env, ...passwords, POD_NAME: `${RELEASE}-nats-0` },
      });
      expect(r.stderr + r.stdout).toMatch(/configuration file .* is valid/);
      expect(r.status).toBe(0);
      expect(conf.includes('cluster {')).toBe(v === undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  );
});

describe('order API authentication and limits', () => {
  const orderApiEnv = (objects: K8sObject[]): Record<string, string | undefined> =>
    Object.fromEntries(
      (
        find<Workload>(objects, 'Deployment', name('order-api')).spec.template.spec.containers[0]
          ?.env ?? []
      ).map((e) => [e.name, e.value]),
    );

  test('when neither auth.issuer nor auth.mode=none is set, then rendering fails with one message saying what to set', () => {
    const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE]);
    expect(r.status).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('auth:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'auth: choose how the order API authenticates: set auth.issuer (and auth.audience) to your OpenID Connect issuer, or auth.mode=none',
    );
    // helm lint renders in lint mode, where `fail` is reported (as INFO) rather than fatal.
    const lint = helm(['lint', '--strict', CHART, '--namespace', NAMESPACE]);
    expect(lint.stderr + lint.stdout).toContain('auth: choose how the order API authenticates');
  });

  test.each([
    ['auth.mode=oidc without an issuer', ['--set', 'auth.mode=oidc'], 'auth.issuer is empty'],
    [
      'auth.mode=none with an issuer',
      ['--set', 'auth.mode=none', '--set', 'auth.issuer=https://x.example'],
      'remove one of them',
    ],
  ])('when %s, then rendering fails saying so', (_c, args, message) => {
    const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  test.each([
    ['auth.mode=dev (the local issuer is not for clusters)', 'auth.mode=dev'],
    ['an http issuer', 'auth.issuer=http://issuer.example.com'],
    ['an HMAC algorithm', 'auth.algorithms={HS256}'],
    ['the algorithm none', 'auth.algorithms={none}'],
  ])('when the values ask for %s, then the schema refuses them', (_c, set) => {
    expect(helm(['template', RELEASE, CHART, '--set', set]).status).not.toBe(0);
  });

  test('when an issuer is set, then the order API verifies its tokens with the documented claims, reaches it on 443, and the rate limit is on', () => {
    expect(orderApiEnv(objectsOf(undefined))).toMatchObject({
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: DEFAULT_ISSUER,
      AUTH_AUDIENCE: 'orderflow',
      AUTH_ALGORITHMS: 'RS256,PS256,ES256,EdDSA',
      AUTH_CUSTOMER_CLAIM: 'sub',
      AUTH_STAFF_CLAIM: 'scope',
      AUTH_STAFF_VALUE: 'orders:staff',
      RATE_LIMIT_MAX: '60',
      RATE_LIMIT_WINDOW_MS: '60000',
      HTTP_TRUST_PROXY_HOPS: '0',
      CATALOG_FILE: '/app/config/catalog.json',
    });
    expect(orderApiEnv(objectsOf('ci/external-values.yaml'))).toMatchObject({
      AUTH_JWKS_URL: 'https://id.example.com/oauth2/v1/keys',
      AUTH_ALGORITHMS: 'ES256',
      AUTH_CUSTOMER_CLAIM: 'customer_id',
    });
  });

  test('when the dev values choose auth.mode none, then AUTH_MODE=none and no issuer egress', () => {
    const objects = objectsOf('ci/dev-values.yaml');
    const env = orderApiEnv(objects);
    expect(env['AUTH_MODE']).toBe('none');
    expect(env['AUTH_ISSUER']).toBeUndefined();
    const policy = find<NetworkPolicy>(objects, 'NetworkPolicy', name('order-api'));
    expect(JSON.stringify(policy.spec.egress)).not.toContain('0.0.0.0/0');
  });

  test('when the rate limit is switched off, then RATE_LIMIT_MAX is 0', () => {
    const objects = render(undefined, ['--set', 'orderApi.rateLimit.enabled=false']);
    expect(orderApiEnv(objects)['RATE_LIMIT_MAX']).toBe('0');
  });
});

describe('NetworkPolicies', () => {
  const podLabels = (objects: K8sObject[], kind: string, n: string): Record<string, string> =>
    find<Workload>(objects, kind, n).spec.template.metadata.labels;

  test.each(VALUE_SETS.map((v) => [label(v)]))(
    'when rendering %s, then a default-deny policy selects every pod of the release',
    (l) => {
      const objects = rendered.get(l) ?? [];
      const deny = find<NetworkPolicy>(objects, 'NetworkPolicy', `${RELEASE}-default-deny`);
      expect(deny.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      expect(deny.spec.ingress).toBeUndefined();
      expect(deny.spec.egress).toBeUndefined();
      for (const w of objects.filter(isWorkload))
        expect(selects(deny.spec.podSelector.matchLabels, w.spec.template.metadata.labels)).toBe(
          true,
        );
    },
  );

  test('when rendering the defaults, then each service may reach exactly what DESIGN §2 lists (plus DNS)', () => {
    const o = objectsOf(undefined);
    const dns = ['kube-dns:53'];
    const expected: Record<string, string[]> = {
      eventstore: ['cockroachdb:26257', 'nats:4222'],
      // The issuer's discovery document and JWKS (auth.issuer is set in "the defaults"); NATS
      // core for the live order feed (GET /api/orders/:id/events).
      'order-api': ['cockroachdb:26257', 'eventstore:50051', 'ip:0.0.0.0/0:443', 'nats:4222'],
      payment: ['cockroachdb:26257', 'eventstore:50051', 'nats:4222'],
      restaurant: ['cockroachdb:26257', 'eventstore:50051', 'nats:4222'],
      // The event store for `rebuild` (the rebuild Job runs the same image and env).
      'order-query-worker': ['cockroachdb:26257', 'eventstore:50051', 'nats:4222'],
      saga: ['cockroachdb:26257', 'eventstore:50051', 'nats:4222'],
      operator: ['ip:0.0.0.0/0:443', 'ip:0.0.0.0/0:6443', 'nats:4222'],
    };
    for (const [svc, flows] of Object.entries(expected))
      expect([svc, egressOf(o, podLabels(o, 'Deployment', name(svc)))]).toEqual([
        svc,
        [...flows, ...dns].sort(),
      ]);
    expect(egressOf(o, podLabels(o, 'StatefulSet', name('cockroachdb')))).toEqual([
      'cockroachdb:26257',
      ...dns,
    ]);
    expect(egressOf(o, podLabels(o, 'StatefulSet', name('nats')))).toEqual(
      [...dns, 'nats:6222'].sort(),
    );
  });

  test('when rendering the defaults, then the order API reaches NATS for the live order feed, without a stream of its own', () => {
    const o = objectsOf(undefined);
    const env =
      find<Workload>(o, 'Deployment', name('order-api')).spec.template.spec.containers[0]?.env ??
      [];
    expect(env).toContainEqual({
      name: 'NATS_URL',
      value: `nats://order-api:$(NATS_PASSWORD)@${RELEASE}-nats:4222`,
    });
    expect(env.map((e) => e.name)).not.toContain('NATS_STREAM');
    const nats = find<NetworkPolicy>(o, 'NetworkPolicy', name('nats'));
    const clients = (nats.spec.ingress ?? []).flatMap((r) =>
      (r.from ?? []).map((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name']),
    );
    expect(clients).toContain('order-api');
  });

  test('when rendering the defaults, then only the event store clients may call the event store', () => {
    const o = objectsOf(undefined);
    const policy = find<NetworkPolicy>(o, 'NetworkPolicy', name('eventstore'));
    const from = (policy.spec.ingress ?? []).flatMap((r) =>
      (r.from ?? []).map((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name']),
    );
    expect(from.sort()).toEqual([
      'order-api',
      'order-query-worker',
      'payment',
      'restaurant',
      'saga',
    ]);
    const crdb = find<NetworkPolicy>(o, 'NetworkPolicy', name('cockroachdb'));
    const dbClients = (crdb.spec.ingress ?? []).flatMap((r) =>
      (r.from ?? []).map((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name']),
    );
    expect(dbClients.sort()).toEqual([
      'cockroachdb',
      'cockroachdb-init',
      'eventstore',
      'order-api',
      'order-query-worker',
      'payment',
      'restaurant',
      'saga',
    ]);
  });

  test('when Prometheus lives in a configured namespace, then it may scrape the ops ports', () => {
    const o = objectsOf(undefined);
    const p = find<NetworkPolicy>(o, 'NetworkPolicy', `${RELEASE}-prometheus`);
    expect(p.spec.ingress?.[0]?.from?.[0]?.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    });
    expect(p.spec.ingress?.[0]?.ports).toContainEqual({ protocol: 'TCP', port: 'ops' });
  });

  test('when the database and NATS are external, then egress opens their ports to any address', () => {
    const o = objectsOf('ci/external-values.yaml');
    expect(egressOf(o, podLabels(o, 'Deployment', name('payment')))).toEqual([
      'eventstore:50051',
      'ip:*:26257',
      'ip:*:4222',
      'kube-dns:53',
    ]);
  });
});

describe('monitoring', () => {
  test('when dashboards are enabled, then each dashboards/*.json becomes a ConfigMap for the Grafana sidecar', () => {
    const cms = byKind<K8sObject & { data: Record<string, string> }>(
      objectsOf('ci/production-values.yaml'),
      'ConfigMap',
    ).filter((c) => c.metadata.labels?.['grafana_dashboard'] === '1');
    expect(cms.length).toBeGreaterThan(0);
    for (const cm of cms) {
      const [file, json] = Object.entries(cm.data)[0] ?? ['', ''];
      expect(file).toMatch(/\.json$/);
      const dashboard = JSON.parse(json) as { title?: string; uid?: string };
      expect(dashboard.title).toBeTruthy();
      expect(dashboard.uid).toBeTruthy();
    }
    expect(
      byKind(objectsOf(undefined), 'ConfigMap').filter(
        (c) => c.metadata.labels?.['grafana_dashboard'],
      ),
    ).toEqual([]);
  });

  test('when rules are enabled, then each rules/*.yaml becomes a PrometheusRule with groups', () => {
    const rules = byKind<K8sObject & { spec: { groups: unknown[] } }>(
      objectsOf('ci/production-values.yaml'),
      'PrometheusRule',
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) expect(r.spec.groups.length).toBeGreaterThan(0);
    expect(
      byKind(objectsOf('ci/production-values.yaml'), 'ServiceMonitor')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual([name('cockroachdb'), name('services')]);
  });
});

describe('NOTES.txt', () => {
  /** helm template does not render NOTES.txt: render a copy of it as an ordinary template. */
  function notes(args: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'chart-notes-'));
    try {
      cpSync(CHART, join(dir, 'orderflow'), { recursive: true });
      renameSync(
        join(dir, 'orderflow', 'templates', 'NOTES.txt'),
        join(dir, 'orderflow', 'notes.txt'),
      );
      writeFileSync(
        join(dir, 'orderflow', 'templates', 'zz-notes.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
      );
      const r = helm([
        'template',
        RELEASE,
        join(dir, 'orderflow'),
        '--namespace',
        NAMESPACE,
        '--show-only',
        'templates/zz-notes.yaml',
        ...args,
      ]);
      expect(r.stderr).toBe('');
      return (parseYaml(r.stdout) as { data: { notes: string } }).data.notes;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('when the chart is installed without authentication, then the notes warn and tell how to port-forward and place an order', () => {
    const text = notes(['-f', join(CHART, 'ci', 'dev-values.yaml')]);
    expect(text).toContain(
      `kubectl -n ${NAMESPACE} port-forward service/${RELEASE}-order-api 8080:8080`,
    );
    expect(text).toContain('WARNING: auth.mode is none: the order API authenticates nobody');
    expect(text).toContain('curl -si http://localhost:8080/api/orders');
    expect(text).toContain('curl -sN http://localhost:8080/api/orders/<id>/events');
    expect(text.trimEnd()).toMatch(/open http:\/\/localhost:8080\n/);
    expect(text).toContain(
      `-d '{"customerId":"c1","restaurantId":"trattoria","items":[{"code":"margherita","quantity":2}]}'`,
    );
    expect(text).toContain('Each client may place 60 orders per 60 s');
  });

  test('when CockroachDB runs insecure or NATS without users, then the notes warn about each; the secure defaults name their Secrets', () => {
    const dev = notes(['-f', join(CHART, 'ci', 'dev-values.yaml')]);
    expect(dev).toContain('WARNING: cockroachdb.tls.enabled is false: CockroachDB runs --insecure');
    expect(dev).not.toContain('WARNING: nats.auth.enabled is false');
    const open = notes([...AUTH_CHOICE, '--set', 'nats.auth.enabled=false']);
    expect(open).toContain('WARNING: nats.auth.enabled is false');
    const secure = notes(AUTH_CHOICE);
    expect(secure).toContain(
      `CockroachDB runs in secure mode: certificates in ${RELEASE}-cockroachdb-node\n(selfSigner), service passwords in ${RELEASE}-cockroachdb-passwords.`,
    );
    expect(secure).toContain(`NATS users and passwords: Secret ${RELEASE}-nats-auth`);
  });

  test('when the chart is installed with an issuer, then the notes show the curl with a bearer token and no warning', () => {
    const text = notes(AUTH_CHOICE);
    expect(text).not.toContain('WARNING');
    expect(text).toContain(`The order API wants bearer tokens from ${DEFAULT_ISSUER}`);
    expect(text).toContain('-H "Authorization: Bearer $TOKEN"');
    expect(text).toContain(
      `-d '{"restaurantId":"trattoria","items":[{"code":"margherita","quantity":2}]}'`,
    );
  });
});
