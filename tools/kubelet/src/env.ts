import type {
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1ObjectFieldSelector,
  V1ResourceFieldSelector,
} from '@kubernetes/client-node';
import type { Inventory, PodPlan } from './manifests';

/** Thrown when a pod cannot start as a kubelet would refuse it (CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

/** What the kubelet knows about a pod when it builds a container's environment. */
export interface PodFacts {
  plan: PodPlan;
  podIP: string;
  serviceAccountName: string;
}

export function secretValue(inv: Inventory, name: string, key: string): string | undefined {
  const s = inv.secrets.get(name);
  if (!s) return undefined;
  const str = s.stringData?.[key];
  if (str !== undefined) return str;
  const b64 = s.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

export function configMapValue(inv: Inventory, name: string, key: string): string | undefined {
  return inv.configMaps.get(name)?.data?.[key];
}

/** Every key of a Secret, decoded. */
export function secretData(inv: Inventory, name: string): Record<string, string> | undefined {
  const s = inv.secrets.get(name);
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString();
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

/** The pod fields a fieldRef may name, as this kubelet knows them. */
const POD_FIELDS: Record<string, (f: PodFacts) => string> = {
  'metadata.name': (f) => f.plan.name,
  'metadata.namespace': (f) => f.plan.namespace,
  'metadata.uid': (f) => f.plan.name,
  'spec.nodeName': () => 'podman',
  'spec.serviceAccountName': (f) => f.serviceAccountName,
  'status.podIP': (f) => f.podIP,
  'status.podIPs': (f) => f.podIP,
  'status.hostIP': () => '127.0.0.1',
  'status.hostIPs': () => '127.0.0.1',
};

function fieldValue(sel: V1ObjectFieldSelector, facts: PodFacts): string {
  const path = sel.fieldPath;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) {
    const map = keyed[1] === 'labels' ? facts.plan.labels : facts.plan.annotations;
    return map[keyed[2] ?? ''] ?? '';
  }
  const read = POD_FIELDS[path];
  if (!read) throw new ContainerConfigError(`fieldRef ${path} is not supported by this kubelet`);
  return read(facts);
}

const QUANTITY = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const FACTOR: Record<string, number> = {
  '': 1,
  m: 0.001,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A Kubernetes quantity ("500m", "256Mi", "2") as a number of base units. */
export function quantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = QUANTITY.exec(q.trim());
  if (!m) throw new ContainerConfigError(`unreadable quantity ${q}`);
  return Number(m[1]) * (FACTOR[m[2] ?? ''] ?? 1);
}

/**
 * Kubernetes' `$(VAR)` expansion in env values, command and args: a reference to a variable
 * defined earlier is replaced, `$$(VAR)` escapes it, an unknown reference stays as written.
 */
export function expand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? (vars.get(name) ?? '') : match;
  });
}

/**
 * A container's environment as the kubelet builds it: `envFrom` first, then `env` in order,
 * each `value` expanded against what came before, each `valueFrom` resolved from the rendered
 * Secrets and ConfigMaps (a missing non-optional key is an error, as on a cluster), fieldRefs
 * from the pod and resourceFieldRefs from the container's resources.
 */
export function resolveEnv(
  c: V1Container,
  inv: Inventory,
  facts: PodFacts,
): { vars: Map<string, string>; expandedFrom: Set<string> } {
  const vars = new Map<string, string>();
  const expandedFrom = new Set<string>();
  for (const from of c.envFrom ?? []) for (const [k, v] of envFromSource(from, inv)) vars.set(k, v);
  for (const e of c.env ?? []) {
    const v = envValue(e, c, inv, facts, vars, expandedFrom);
    if (v !== undefined) vars.set(e.name, v);
  }
  return { vars, expandedFrom };
}

/** The variables of one `envFrom` entry (a whole Secret or ConfigMap, with its prefix). */
function envFromSource(from: V1EnvFromSource, inv: Inventory): [string, string][] {
  const prefix = from.prefix ?? '';
  let data: Record<string, string> | undefined;
  let ref: { name?: string; optional?: boolean } | undefined;
  if (from.secretRef) {
    ref = from.secretRef;
    data = secretData(inv, ref.name ?? '');
  } else if (from.configMapRef) {
    ref = from.configMapRef;
    data = inv.configMaps.get(ref.name ?? '')?.data;
  }
  if (ref && !data && !ref.optional)
    throw new ContainerConfigError(
      `${from.secretRef ? 'secret' : 'configmap'} "${ref.name}" not found`,
    );
  return Object.entries(data ?? {}).map(([k, v]) => [prefix + k, v]);
}

function envValue(
  e: V1EnvVar,
  c: V1Container,
  inv: Inventory,
  facts: PodFacts,
  vars: Map<string, string>,
  expandedFrom: Set<string>,
): string | undefined {
  if (e.value !== undefined) {
    for (const m of e.value.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g))
      if (m[1] && vars.has(m[1])) expandedFrom.add(m[1]);
    return expand(e.value, vars);
  }
  const from = e.valueFrom;
  if (!from) return '';
  const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
  if (keyRef) return keyValue(e.name, from.secretKeyRef ? 'secret' : 'configmap', keyRef, inv);
  if (from.fieldRef) return fieldValue(from.fieldRef, facts);
  if (from.resourceFieldRef) return resourceValue(from.resourceFieldRef, c);
  throw new ContainerConfigError(`${e.name}: unsupported valueFrom`);
}

/** A Secret's or ConfigMap's key, which must be there unless the reference is optional. */
function keyValue(
  env: string,
  kind: 'secret' | 'configmap',
  ref: { name?: string; key: string; optional?: boolean },
  inv: Inventory,
): string | undefined {
  const { name = '', key, optional } = ref;
  const value = kind === 'secret' ? secretValue(inv, name, key) : configMapValue(inv, name, key);
  const exists = kind === 'secret' ? inv.secrets.has(name) : inv.configMaps.has(name);
  if (value === undefined && !optional)
    throw new ContainerConfigError(
      `${env}: ${exists ? `key "${key}" not in` : 'no'} ${kind} "${name}"`,
    );
  return value;
}

function resourceValue(ref: V1ResourceFieldSelector, c: V1Container): string {
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory'];
  const amount = quantity(c.resources?.[kind]?.[res]);
  const div = quantity(ref.divisor ?? '1') ?? 1;
  return amount === undefined ? '0' : String(Math.ceil(amount / div));
}
