import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Shared by the chart checks: helm from the npm-packed AWS layer, rendering and object access. */

export const ROOT = resolve(__dirname, '..', '..');
export const CHART = join(ROOT, 'charts', 'orderflow');
export const RELEASE = 'of';
export const NAMESPACE = 'orderflow';

/** The `ci/*-values.yaml` sets, plus the defaults (undefined). */
export const VALUE_SETS: (string | undefined)[] = [
  undefined,
  ...readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => join('ci', f)),
];

let helmPath: string | undefined;

/** Fetches helm into .tools/bin on first use (scripts/fetch-helm.sh is a no-op when present). */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  execFileSync(join(ROOT, 'scripts', 'fetch-helm.sh'), { stdio: 'pipe', cwd: ROOT });
  helmPath = join(ROOT, '.tools', 'bin', 'helm');
  return helmPath;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): RunResult {
  const r = spawnSync(helmBinary(), args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/**
 * The chart's defaults leave one choice open on purpose: how the order API authenticates (rendering
 * fails until `auth.issuer` or `auth.mode=none` is set). "The defaults" below are the defaults plus
 * this issuer; the failure itself is checked in chart.int.test.ts.
 */
export const DEFAULT_ISSUER = 'https://issuer.example.com/realms/orderflow';
export const AUTH_CHOICE = ['--set', `auth.issuer=${DEFAULT_ISSUER}`];

export function templateArgs(valuesFile?: string, extra: string[] = []): string[] {
  return [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    ...(valuesFile ? ['-f', join(CHART, valuesFile)] : AUTH_CHOICE),
    ...extra,
  ];
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` for a value set; throws with helm's message when rendering fails. */
export function render(valuesFile?: string, extra: string[] = [], release = RELEASE): K8sObject[] {
  const args = templateArgs(valuesFile, extra);
  args[1] = release;
  const r = helm(args);
  if (r.status !== 0)
    throw new Error(`helm template ${valuesFile ?? '(defaults)'} failed:\n${r.stderr}`);
  return parseManifests(r.stdout);
}

// Minimal typed views of the parts of the API the checks read.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}
export interface Probe {
  httpGet?: { path?: string; port: string | number; scheme?: string };
  periodSeconds?: number;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type: string };
}
export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  configMap?: { name: string; optional?: boolean };
  secret?: { secretName: string };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  topologySpreadConstraints?: unknown[];
  terminationGracePeriodSeconds?: number;
}
export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
}
export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
export interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port?: string | number }[];
}
export interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes: string[];
    ingress?: PolicyRule[];
    egress?: PolicyRule[];
  };
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

export function isWorkload(o: K8sObject): o is Workload {
  return WORKLOAD_KINDS.includes(o.kind);
}

/** Whether a rendering installs the operator (ci/kube-values.yaml leaves it out: no API server there). */
export function hasOperator(objects: K8sObject[]): boolean {
  return objects.some((o) => o.kind === 'Deployment' && o.metadata.name === `${RELEASE}-operator`);
}

export function byKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function find<T extends K8sObject = K8sObject>(
  objects: K8sObject[],
  kind: string,
  name: string,
): T {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o as T;
}

export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The orderflow services, by service name (docs/conventions.md). */
export const SERVICES = [
  'eventstore',
  'order-api',
  'payment',
  'restaurant',
  'order-query-worker',
  'saga',
  'operator',
] as const;
export type ServiceName = (typeof SERVICES)[number];
