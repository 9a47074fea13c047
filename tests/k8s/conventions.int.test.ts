import {
  RELEASE,
  byKind,
  find,
  render,
  type K8sObject,
  type PodSpec,
  type Workload,
} from './helpers';

/**
 * Chart conventions on every pod the chart makes (services, CockroachDB, NATS, the init, rebuild
 * and hook Jobs, the helm test pod): global.imageRegistry, imagePullSecrets, priorityClassName,
 * pod annotations, extra env and volumes; ServiceAccount annotations; the order API's Ingress and
 * HTTPRoute; a CA bundle for an external database.
 */

const name = (s: string): string => `${RELEASE}-${s}`;
type Pod = {
  kind: string;
  name: string;
  spec: PodSpec & { priorityClassName?: string; imagePullSecrets?: { name: string }[] };
  annotations: Record<string, string>;
};

function pods(objects: K8sObject[]): Pod[] {
  const out: Pod[] = [];
  for (const o of objects) {
    if (['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) {
      const t = (o as Workload).spec.template as {
        metadata: { annotations?: Record<string, string> };
        spec: Pod['spec'];
      };
      out.push({
        kind: o.kind,
        name: o.metadata.name,
        spec: t.spec,
        annotations: t.metadata.annotations ?? {},
      });
    } else if (o.kind === 'Pod') {
      out.push({
        kind: 'Pod',
        name: o.metadata.name,
        spec: (o as unknown as { spec: Pod['spec'] }).spec,
        annotations: o.metadata.annotations ?? {},
      });
    }
  }
  return out;
}

const EVERYTHING = [
  '--set',
  'global.imageRegistry=mirror.example.com',
  '--set',
  'imagePullSecrets[0].name=pull',
  '--set',
  'defaults.priorityClassName=svc-prio',
  '--set',
  'cockroachdb.priorityClassName=db-prio',
  '--set',
  'nats.priorityClassName=nats-prio',
  '--set',
  'hooks.priorityClassName=hook-prio',
  '--set',
  'nats.promExporter.enabled=true',
  '--set',
  'nats.tls.enabled=true',
  '--set',
  'queryWorker.rebuild.enabled=true',
  '--set',
  'crds.upgradeJob.enabled=true',
  '--set',
  'cockroachdb.podAnnotations.a=db',
  '--set',
  'nats.podAnnotations.a=nats',
  '--set',
  'hooks.podAnnotations.a=hook',
  '--set',
  'defaults.podAnnotations.a=svc',
];

test('when conventions are set, then every pod pulls through the registry mirror with the pull secret and its priority class', () => {
  const all = pods(render(undefined, [...EVERYTHING, '--is-upgrade']));
  expect(all.map((p) => p.name)).toEqual(
    expect.arrayContaining([
      name('cockroachdb'),
      name('nats'),
      name('secrets'),
      name('crd-upgrade'),
      name('test-order-flow'),
      name('order-query-worker-rebuild-1'),
      `${name('cockroachdb')}-init-1`,
    ]),
  );
  const problems: string[] = [];
  for (const p of all) {
    for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers])
      if (!c.image.startsWith('mirror.example.com/'))
        problems.push(`${p.name}/${c.name}: ${c.image}`);
    if (p.spec.imagePullSecrets?.[0]?.name !== 'pull') problems.push(`${p.name}: no pull secret`);
    const want = p.name.includes('cockroachdb')
      ? 'db-prio'
      : p.name === name('nats')
        ? 'nats-prio'
        : ['secrets', 'crd-upgrade'].map(name).includes(p.name)
          ? 'hook-prio'
          : 'svc-prio';
    if (p.spec.priorityClassName !== want)
      problems.push(`${p.name}: priorityClassName ${p.spec.priorityClassName} (want ${want})`);
    if (p.kind !== 'Pod' && !p.annotations['a']) problems.push(`${p.name}: no pod annotation`);
  }
  expect(problems).toEqual([]);
  const images = all.flatMap((p) =>
    [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c) => c.image),
  );
  expect(new Set(images)).toEqual(
    new Set([
      'mirror.example.com/orderflow/orderflow:0.1.0',
      'mirror.example.com/cockroachdb/cockroach:v24.3.5',
      'mirror.example.com/nats:2.10.24-alpine',
      'mirror.example.com/natsio/prometheus-nats-exporter:0.16.0',
    ]),
  );
});

test('when extra env and volumes are set on the stateful tier and the hooks, then their containers get them', () => {
  const objects = render(undefined, [
    '--set',
    'cockroachdb.extraEnv[0].name=DB_X',
    '--set-string',
    'cockroachdb.extraEnv[0].value=1',
    '--set',
    'cockroachdb.extraVolumes[0].name=extra',
    '--set',
    'cockroachdb.extraVolumes[0].emptyDir.medium=Memory',
    '--set',
    'cockroachdb.extraVolumeMounts[0].name=extra',
    '--set',
    'cockroachdb.extraVolumeMounts[0].mountPath=/extra',
    '--set',
    'nats.extraEnv[0].name=NATS_X',
    '--set-string',
    'nats.extraEnv[0].value=1',
    '--set',
    'hooks.extraEnv[0].name=HTTPS_PROXY',
    '--set',
    'hooks.extraEnv[0].value=http://proxy:3128',
  ]);
  const db = find<Workload>(objects, 'StatefulSet', name('cockroachdb')).spec.template.spec;
  expect(db.containers[0]?.env).toContainEqual({ name: 'DB_X', value: '1' });
  expect(db.containers[0]?.volumeMounts).toContainEqual({ name: 'extra', mountPath: '/extra' });
  expect(db.volumes).toContainEqual({ name: 'extra', emptyDir: { medium: 'Memory' } });
  const init = byKind<Workload>(objects, 'Job').find((j) =>
    j.metadata.name.startsWith(name('cockroachdb-init')),
  )!;
  expect(init.spec.template.spec.containers[0]?.env).toContainEqual({ name: 'DB_X', value: '1' });
  expect(
    find<Workload>(objects, 'StatefulSet', name('nats')).spec.template.spec.containers[0]?.env,
  ).toContainEqual({ name: 'NATS_X', value: '1' });
  expect(
    find<Workload>(objects, 'Job', name('secrets')).spec.template.spec.containers[0]?.env,
  ).toEqual([{ name: 'HTTPS_PROXY', value: 'http://proxy:3128' }]);
});

test('when ServiceAccount annotations are set, then the services, CockroachDB and NATS ServiceAccounts carry them', () => {
  const objects = render(undefined, [
    '--set',
    'defaults.serviceAccount.annotations.team=orders',
    '--set',
    'eventstore.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/es',
    '--set',
    'cockroachdb.serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=db@p.iam.gserviceaccount.com',
  ]);
  expect(find(objects, 'ServiceAccount', name('eventstore')).metadata.annotations).toEqual({
    team: 'orders',
    'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/es',
  });
  expect(find(objects, 'ServiceAccount', name('saga')).metadata.annotations).toEqual({
    team: 'orders',
  });
  expect(find(objects, 'ServiceAccount', name('cockroachdb')).metadata.annotations).toEqual({
    'iam.gke.io/gcp-service-account': 'db@p.iam.gserviceaccount.com',
  });
  expect(
    find<Workload>(objects, 'StatefulSet', name('cockroachdb')).spec.template.spec
      .serviceAccountName,
  ).toBe(name('cockroachdb'));
});

test('when the order API gets an Ingress or an HTTPRoute, then each routes to its Service port', () => {
  const prod = render('ci/production-values.yaml');
  const ing = find<
    K8sObject & {
      spec: {
        ingressClassName: string;
        rules: {
          host: string;
          http: {
            paths: {
              path: string;
              backend: { service: { name: string; port: { name: string } } };
            }[];
          };
        }[];
      };
    }
  >(prod, 'Ingress', name('order-api'));
  expect(ing.spec.ingressClassName).toBe('nginx');
  expect(ing.spec.rules[0]?.http.paths[0]).toMatchObject({
    path: '/api',
    backend: { service: { name: name('order-api'), port: { name: 'http' } } },
  });
  const svc = find<K8sObject & { spec: { ports: { name: string; port: number }[] } }>(
    prod,
    'Service',
    name('order-api'),
  );
  expect(svc.spec.ports.map((p) => p.name)).toContain('http');
  const route = find<
    K8sObject & {
      spec: {
        parentRefs: unknown[];
        rules: { matches: unknown[]; backendRefs: { name: string; port: number }[] }[];
      };
    }
  >(
    render(undefined, [
      '--set',
      'orderApi.httpRoute.enabled=true',
      '--set',
      'orderApi.httpRoute.parentRefs[0].name=public',
      '--set',
      'orderApi.httpRoute.parentRefs[0].namespace=gateways',
      '--set',
      'orderApi.service.port=80',
    ]),
    'HTTPRoute',
    name('order-api'),
  );
  // No model of the Gateway API here (it needs Node 22): the fields that matter, by hand.
  expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
  expect(route.spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateways' }]);
  expect(route.spec.rules[0]?.matches).toEqual([{ path: { type: 'PathPrefix', value: '/api' } }]);
  expect(route.spec.rules[0]?.backendRefs).toEqual([{ name: name('order-api'), port: 80 }]);
  expect(() => render(undefined, ['--set', 'orderApi.httpRoute.enabled=true'])).toThrow(
    /parentRefs/,
  );
});

test('when an external database has a private CA, then every container that reaches it mounts the bundle and the URLs name it', () => {
  const objects = render('ci/external-values.yaml');
  for (const svc of [
    'eventstore',
    'order-api',
    'payment',
    'restaurant',
    'order-query-worker',
    'saga',
  ]) {
    const pod = find<Workload>(objects, 'Deployment', name(svc)).spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'database-ca',
      configMap: {
        name: 'corp-database-ca',
        defaultMode: 0o444,
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      },
    });
    for (const c of [...(pod.initContainers ?? []), ...pod.containers])
      expect(c.volumeMounts).toContainEqual({
        name: 'database-ca',
        mountPath: '/etc/orderflow/database-ca',
        readOnly: true,
      });
  }
  const urls = find<K8sObject & { stringData: Record<string, string> }>(
    objects,
    'Secret',
    name('database-urls'),
  ).stringData;
  for (const u of Object.values(urls))
    expect(u).toContain('sslmode=verify-full&sslrootcert=/etc/orderflow/database-ca/ca.crt');
  // Nothing mounts it in the operator, which has no database.
  expect(
    find<Workload>(objects, 'Deployment', name('operator')).spec.template.spec.volumes?.map(
      (v) => v.name,
    ),
  ).not.toContain('database-ca');
});
