import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  AUTH_CHOICE,
  CHART,
  RELEASE,
  byKind,
  find,
  helm,
  parseManifests,
  type K8sObject,
  type Workload,
} from './helpers';

/**
 * An upgrade from chart 0.1.0 (tests/k8s/fixtures/upgrade: its values and what it rendered),
 * rendered as `helm upgrade` renders it (`--is-upgrade`, revision 2): the old values still
 * validate, nothing Kubernetes cannot change in place differs, the Secrets 0.1.0 made are kept
 * (same names and keys, no longer rendered), and the CRD is applied before the templates.
 */

const FIXTURES = join(__dirname, 'fixtures', 'upgrade');
const previous = JSON.parse(readFileSync(join(FIXTURES, 'rendered-0.1.0.json'), 'utf8')) as Record<
  'defaults' | 'production',
  Record<string, Record<string, unknown>>
>;

function upgrade(valuesFile: string, extra: string[] = []): K8sObject[] {
  const r = helm([
    'template',
    RELEASE,
    CHART,
    '--namespace',
    'orderflow',
    '--is-upgrade',
    '-f',
    join(FIXTURES, valuesFile),
    ...extra,
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  return parseManifests(r.stdout);
}

/** The fields the 0.1.0 fixture keeps, read the same way from a new render. */
function immutable(objects: K8sObject[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
    if (o.kind === 'StatefulSet')
      out[id] = {
        selector: spec['selector'],
        serviceName: spec['serviceName'],
        podManagementPolicy: spec['podManagementPolicy'],
        volumeClaimTemplates: (
          spec['volumeClaimTemplates'] as {
            metadata: { name: string; labels: unknown };
            spec: unknown;
          }[]
        ).map((v) => ({ name: v.metadata.name, labels: v.metadata.labels, spec: v.spec })),
      };
    else if (o.kind === 'Deployment') out[id] = { selector: spec['selector'] };
    else if (o.kind === 'Service')
      out[id] = { clusterIP: spec['clusterIP'] ?? null, selector: spec['selector'] };
  }
  return out;
}

test.each([
  ['defaults', 'values-0.1.0.yaml', AUTH_CHOICE],
  ['production', 'production-values-0.1.0.yaml', []],
] as const)(
  'when %s of 0.1.0 are upgraded, then every selector, serviceName and volume claim template stays as it was',
  (set, file, extra) => {
    const now = immutable(upgrade(file, [...extra]));
    const before = previous[set];
    const changed = Object.entries(before)
      .filter(([id]) => !id.startsWith('Secret/'))
      .filter(([id, fields]) => JSON.stringify(now[id]) !== JSON.stringify(fields))
      .map(([id]) => id);
    expect(changed).toEqual([]);
  },
);

test('when the 0.1.0 values (CockroachDB insecure, as 0.1.0 defaulted) are upgraded, then CockroachDB stays insecure instead of switching under its data', () => {
  const objects = upgrade('values-0.1.0.yaml', [...AUTH_CHOICE]);
  const db = find<Workload>(objects, 'StatefulSet', `${RELEASE}-cockroachdb`);
  expect(db.spec.template.spec.containers[0]?.args).toContain('--insecure');
});

test('when 0.1.0 production (its own certificates, generated passwords) is upgraded, then the passwords Secret it made is kept, ensured by the hook and no longer rendered', () => {
  const objects = upgrade('production-values-0.1.0.yaml');
  const old = previous.production[`Secret/${RELEASE}-cockroachdb-passwords`] as {
    keys: string[];
    annotations: Record<string, string>;
  };
  // 0.1.0 marked it `keep`, so Helm does not delete it when the chart stops rendering it.
  expect(old.annotations['helm.sh/resource-policy']).toBe('keep');
  expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).not.toContain(
    `${RELEASE}-cockroachdb-passwords`,
  );
  const job = find<Workload & { metadata: { annotations: Record<string, string> } }>(
    objects,
    'Job',
    `${RELEASE}-secrets`,
  );
  expect(job.metadata.annotations['helm.sh/hook']).toContain('pre-upgrade');
  const spec = JSON.parse(job.spec.template.spec.containers[0]?.command?.[4] ?? '{}') as {
    secrets: { name: string; random?: string[] }[];
  };
  const passwords = spec.secrets.find((s) => s.name === `${RELEASE}-cockroachdb-passwords`);
  // ensure-secrets keeps existing keys: the same names mean the same passwords.
  expect([...(passwords?.random ?? [])].sort()).toEqual(old.keys);
  // Its own certificates Secret is still the one mounted; nothing is signed.
  const db = find<Workload>(objects, 'StatefulSet', `${RELEASE}-cockroachdb`).spec.template.spec;
  expect(db.volumes?.find((v) => v.name === 'certs-secret')?.secret?.secretName).toBe(
    'orderflow-cockroachdb-certs',
  );
  expect(job.spec.template.spec.initContainers).toBeUndefined();
});

test('when the CRD upgrade hook is on, then a pre-upgrade Job applies exactly crds/ before the templates, with a ClusterRole for that CRD only', () => {
  const objects = upgrade('values-0.1.0.yaml', [
    ...AUTH_CHOICE,
    '--set',
    'crds.upgradeJob.enabled=true',
  ]);
  const cm = find<
    K8sObject & { data: Record<string, string>; metadata: { annotations: Record<string, string> } }
  >(objects, 'ConfigMap', `${RELEASE}-crd-upgrade`);
  const crd = readFileSync(join(CHART, 'crds', 'orderflow.io_orderflows.yaml'), 'utf8');
  expect(parseYaml(cm.data['crd.yaml'] ?? '')).toEqual(parseYaml(crd));
  const job = find<Workload & { metadata: { annotations: Record<string, string> } }>(
    objects,
    'Job',
    `${RELEASE}-crd-upgrade`,
  );
  expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-upgrade');
  expect(Number(job.metadata.annotations['helm.sh/hook-weight'])).toBeGreaterThan(
    Number(cm.metadata.annotations['helm.sh/hook-weight']),
  );
  expect(job.spec.template.spec.containers[0]?.command).toEqual([
    'node',
    'services/operator/dist/main.js',
    'apply-crd',
    '--file',
    '/crd/crd.yaml',
  ]);
  const role = find<K8sObject & { rules: unknown[] }>(
    objects,
    'ClusterRole',
    `orderflow-${RELEASE}-crd-upgrade`,
  );
  expect(role.rules).toEqual([
    {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      resourceNames: ['orderflows.orderflow.io'],
      verbs: ['get', 'update'],
    },
    {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      verbs: ['create'],
    },
  ]);
  // Off by default: then nothing cluster-scoped renders.
  expect(
    upgrade('values-0.1.0.yaml', [...AUTH_CHOICE]).filter((o) => o.kind.startsWith('Cluster')),
  ).toEqual([]);
});
