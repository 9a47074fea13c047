import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1ObjectMeta,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Any rendered object; the kinds this kubelet acts on are narrowed below. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
  [key: string]: unknown;
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export type OwnerKind = 'Deployment' | 'StatefulSet' | 'Job' | 'Pod';

/** One pod to run: what a controller (Deployment, StatefulSet, Job) would have created. */
export interface PodPlan {
  name: string;
  namespace: string;
  owner: { kind: OwnerKind; name: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: V1PodSpec;
  /** The pod's hostname: its name, as Kubernetes sets it. */
  hostname: string;
  /** StatefulSet pods: the governing headless Service, for `<pod>.<service>` DNS names. */
  subdomain?: string;
  /** StatefulSet pods: volume name -> PersistentVolumeClaim name (`<template>-<pod>`). */
  claims: Record<string, string>;
  /** A helm test hook: run only by `helm test`. */
  helmTest: boolean;
  /** A helm install hook ("pre-install", "post-install"), with its weight. */
  hook?: { phase: string; weight: number };
}

/** The rendered objects the kubelet acts on, by kind and name. */
export interface Inventory {
  namespace: string;
  secrets: Map<string, V1Secret>;
  configMaps: Map<string, V1ConfigMap>;
  services: Map<string, V1Service>;
  deployments: Map<string, V1Deployment>;
  statefulSets: Map<string, V1StatefulSet>;
  jobs: Map<string, V1Job>;
  pods: Map<string, V1Pod>;
  /** Kinds that a real cluster would act on and this kubelet does not (listed in the run's report). */
  ignored: string[];
}

/** Kinds that need no kubelet: policy and API objects. Listed so that nothing is dropped silently. */
const NO_POD_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'CustomResourceDefinition',
  'OrderFlow',
  'ServiceMonitor',
  'PodMonitor',
  'PrometheusRule',
  'HorizontalPodAutoscaler',
  'Ingress',
  'HTTPRoute',
]);

export function inventory(objects: KubeObject[], namespace: string): Inventory {
  const inv: Inventory = {
    namespace,
    secrets: new Map(),
    configMaps: new Map(),
    services: new Map(),
    deployments: new Map(),
    statefulSets: new Map(),
    jobs: new Map(),
    pods: new Map(),
    ignored: [],
  };
  for (const o of objects) {
    const name = o.metadata.name;
    switch (o.kind) {
      case 'Secret':
        inv.secrets.set(name, o);
        break;
      case 'ConfigMap':
        inv.configMaps.set(name, o);
        break;
      case 'Service':
        inv.services.set(name, o);
        break;
      case 'Deployment':
        inv.deployments.set(name, o);
        break;
      case 'StatefulSet':
        inv.statefulSets.set(name, o);
        break;
      case 'Job':
        inv.jobs.set(name, o);
        break;
      case 'Pod':
        inv.pods.set(name, o);
        break;
      default:
        inv.ignored.push(`${o.kind}/${name}${NO_POD_KINDS.has(o.kind) ? '' : ' (unknown kind)'}`);
    }
  }
  return inv;
}

/** A short, stable hash of a pod template, as the Deployment controller's pod-template-hash. */
export function templateHash(spec: unknown): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
}

/** Five lower-case letters and digits, as the ReplicaSet controller appends to pod names. */
export function podSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)] ?? 'x';
  return s;
}

function hookOf(meta: V1ObjectMeta | undefined): PodPlan['hook'] {
  const hook = meta?.annotations?.['helm.sh/hook'];
  if (!hook) return undefined;
  const weight = Number(meta?.annotations?.['helm.sh/hook-weight'] ?? '0');
  return { phase: hook, weight: Number.isFinite(weight) ? weight : 0 };
}

/** A pod template's parts, defaulted. */
function parts(tpl: V1PodTemplateSpec | undefined): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: V1PodSpec;
} {
  return {
    labels: { ...(tpl?.metadata?.labels ?? {}) },
    annotations: { ...(tpl?.metadata?.annotations ?? {}) },
    spec: tpl?.spec ?? { containers: [] },
  };
}

/** A Deployment's pod: `<deployment>-<template hash>-<suffix>`. */
export function deploymentPod(d: V1Deployment, namespace: string): PodPlan {
  const name = d.metadata?.name ?? 'deployment';
  const tpl = parts(d.spec?.template);
  const hash = templateHash(d.spec?.template);
  const pod = `${name}-${hash}-${podSuffix()}`;
  return {
    ...tpl,
    name: pod,
    namespace,
    owner: { kind: 'Deployment', name },
    labels: { ...tpl.labels, 'pod-template-hash': hash },
    hostname: pod,
    claims: {},
    helmTest: false,
  };
}

/** A StatefulSet's pod `<set>-<ordinal>`, with its claims `<template>-<set>-<ordinal>`. */
export function statefulSetPod(s: V1StatefulSet, ordinal: number, namespace: string): PodPlan {
  const name = s.metadata?.name ?? 'statefulset';
  const tpl = parts(s.spec?.template);
  const pod = `${name}-${ordinal}`;
  const claims: Record<string, string> = {};
  for (const c of s.spec?.volumeClaimTemplates ?? []) {
    const claim = c.metadata?.name ?? 'data';
    claims[claim] = `${claim}-${pod}`;
  }
  return {
    ...tpl,
    name: pod,
    namespace,
    owner: { kind: 'StatefulSet', name },
    labels: {
      ...tpl.labels,
      'statefulset.kubernetes.io/pod-name': pod,
      'apps.kubernetes.io/pod-index': String(ordinal),
    },
    hostname: pod,
    subdomain: s.spec?.serviceName,
    claims,
    helmTest: false,
  };
}

/** A Job's pod `<job>-<suffix>`. */
export function jobPod(j: V1Job, namespace: string): PodPlan {
  const name = j.metadata?.name ?? 'job';
  const tpl = parts(j.spec?.template);
  const pod = `${name}-${podSuffix()}`;
  return {
    ...tpl,
    name: pod,
    namespace,
    owner: { kind: 'Job', name },
    labels: { ...tpl.labels, 'job-name': name },
    hostname: pod,
    claims: {},
    helmTest: false,
    hook: hookOf(j.metadata),
  };
}

/** A bare Pod (the chart's `helm test` hook). */
export function barePod(p: V1Pod, namespace: string): PodPlan {
  const name = p.metadata?.name ?? 'pod';
  const hook = hookOf(p.metadata);
  return {
    name,
    namespace,
    owner: { kind: 'Pod', name },
    labels: { ...(p.metadata?.labels ?? {}) },
    annotations: { ...(p.metadata?.annotations ?? {}) },
    spec: p.spec ?? { containers: [] },
    hostname: name,
    claims: {},
    helmTest: hook?.phase.split(',').includes('test') ?? false,
    hook,
  };
}

/** Whether a selector (matchLabels form) selects these labels. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
