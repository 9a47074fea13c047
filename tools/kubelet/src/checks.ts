import type {
  V1Container,
  V1PodTemplateSpec,
  V1Probe,
  V1ServicePort,
} from '@kubernetes/client-node';
import { containerPort } from './probes';
import { selects, type Inventory } from './manifests';

/**
 * What a cluster would only show as a pod that never becomes Ready, found before anything runs:
 *   - an environment variable the chart sets on a service that the service does not read
 *     (a misspelt or stale name is otherwise silently ignored);
 *   - a Service name or port in an env value (`host:port`, `nats://host:port`, URLs) that no
 *     Service of the release has;
 *   - a probe, or a Service targetPort, naming a port the container does not declare;
 *   - a probe kind this kubelet cannot run (gRPC).
 * `envNames` maps a service (services/<name>/dist/main.js) to the variables its config schema
 * reads, taken from the image itself.
 */
export function staticChecks(
  inv: Inventory,
  envNames: Map<string, Set<string>>,
  clusterDomain: string,
): string[] {
  const problems: string[] = [];
  for (const [kind, name, tpl] of templates(inv)) {
    const where = `${kind}/${name}`;
    const spec = tpl.spec;
    if (!spec) continue;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      problems.push(...envAudit(where, c, envNames));
      problems.push(...wiring(where, c, inv, clusterDomain));
      for (const [probeKind, probe] of [
        ['startup', c.startupProbe],
        ['liveness', c.livenessProbe],
        ['readiness', c.readinessProbe],
      ] as const)
        if (probe) problems.push(...probeCheck(where, c, probeKind, probe));
    }
  }
  problems.push(...serviceChecks(inv));
  return problems;
}

function* templates(inv: Inventory): Generator<[string, string, V1PodTemplateSpec]> {
  for (const [n, d] of inv.deployments) if (d.spec) yield ['Deployment', n, d.spec.template];
  for (const [n, s] of inv.statefulSets) if (s.spec) yield ['StatefulSet', n, s.spec.template];
  for (const [n, j] of inv.jobs) if (j.spec) yield ['Job', n, j.spec.template];
  for (const [n, p] of inv.pods) yield ['Pod', n, { metadata: p.metadata, spec: p.spec }];
}

/** The orderflow service a container runs (`node services/<name>/dist/main.js ...`), if any. */
export function serviceOf(c: V1Container): string | undefined {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  for (const a of argv) {
    const m = /^services\/([a-z0-9-]+)\/dist\/main\.js$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** Read by the runtime or the OpenTelemetry SDK rather than a service's config schema. */
const RUNTIME_PREFIXES = ['OTEL_', 'NODE_', 'UV_'];

function envAudit(where: string, c: V1Container, envNames: Map<string, Set<string>>): string[] {
  const service = serviceOf(c);
  if (!service) return [];
  const known = envNames.get(service);
  if (!known)
    return [`${where}/${c.name}: runs services/${service}, which the image does not have`];
  const referenced = referencedNames(c);
  return (c.env ?? [])
    .filter((e) => !known.has(e.name) && !referenced.has(e.name))
    .filter((e) => !RUNTIME_PREFIXES.some((p) => e.name.startsWith(p)))
    .map(
      (e) =>
        `${where}/${c.name}: sets ${e.name}, which ${service} does not read (it reads ${[...known].sort().join(', ')})`,
    );
}

/** Variables other values use through `$(NAME)`: set to be expanded, not read. */
function referencedNames(c: V1Container): Set<string> {
  const names = new Set<string>();
  for (const e of c.env ?? [])
    for (const m of (e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
      if (m[1]) names.add(m[1]);
  return names;
}

/** host:port pairs in an env value: bare `host:port`, or in URLs (userinfo and paths allowed). */
export function endpointsIn(value: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const part of value.split(',')) {
    const v = part.trim();
    const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([A-Za-z0-9.-]+):(\d+)(?:[/?#].*)?$/.exec(v);
    const bare = /^(?:dns:\/\/\/)?([A-Za-z0-9.-]+):(\d+)$/.exec(v);
    const m = url ?? bare;
    if (m?.[1] && m[2]) out.push({ host: m[1], port: Number(m[2]) });
  }
  return out;
}

/**
 * Which Service of the release a host name means, as the pod's DNS search path would resolve it:
 * `svc`, `svc.ns`, `pod.svc` (a StatefulSet pod), `pod.svc.ns`, each optionally `.svc[.domain]`.
 * `inCluster: false` for names outside the cluster (left alone).
 */
export function serviceHost(
  host: string,
  inv: Inventory,
  clusterDomain: string,
): { inCluster: boolean; service?: string } {
  if (host === 'localhost') return { inCluster: false };
  const suffix = [`.svc.${clusterDomain}`, '.svc'].find((x) => host.endsWith(x));
  const qualified = suffix !== undefined;
  const labels = (suffix ? host.slice(0, -suffix.length) : host).split('.');
  const [a, b, c] = labels;
  if (labels.length === 1) return { inCluster: true, service: a };
  if (labels.length === 3 && c === inv.namespace) return { inCluster: true, service: b };
  if (labels.length !== 2 || b === undefined)
    return { inCluster: qualified, service: qualified ? labels[labels.length - 2] : undefined };
  // Two labels: `svc.ns`, or a StatefulSet pod's `pod.svc`.
  if (b === inv.namespace) return { inCluster: true, service: a };
  if (inv.services.has(b)) return { inCluster: true, service: b };
  return qualified ? { inCluster: true, service: a } : { inCluster: false };
}

function wiring(where: string, c: V1Container, inv: Inventory, clusterDomain: string): string[] {
  const problems: string[] = [];
  for (const e of c.env ?? []) {
    if (e.value === undefined) continue;
    for (const { host, port } of endpointsIn(e.value)) {
      const { inCluster, service } = serviceHost(host, inv, clusterDomain);
      if (!inCluster) continue;
      const svc = inv.services.get(service ?? '');
      if (!svc) {
        problems.push(
          `${where}/${c.name}: ${e.name}=${e.value} names ${host}, which is no Service`,
        );
        continue;
      }
      const ports = (svc.spec?.ports ?? []).map((p) => p.port);
      if (!ports.includes(port))
        problems.push(
          `${where}/${c.name}: ${e.name}=${e.value}: Service ${service} has no port ${port} (it has ${ports.join(', ')})`,
        );
    }
  }
  return problems;
}

function probeCheck(where: string, c: V1Container, kind: string, probe: V1Probe): string[] {
  if (probe.grpc)
    return [`${where}/${c.name}: ${kind} probe is gRPC, which this kubelet does not run`];
  const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
  if (port !== undefined && containerPort(c, port) === undefined)
    return [
      `${where}/${c.name}: ${kind} probe names port ${port}, which the container does not declare`,
    ];
  return [];
}

function serviceChecks(inv: Inventory): string[] {
  const problems: string[] = [];
  const podTemplates = [...templates(inv)].filter(([kind]) => kind !== 'Job' && kind !== 'Pod');
  for (const [name, svc] of inv.services) {
    const selector = svc.spec?.selector;
    if (!selector) continue;
    const selected = podTemplates.filter(([, , t]) => selects(selector, t.metadata?.labels ?? {}));
    if (selected.length === 0)
      problems.push(`Service/${name}: its selector selects no workload of the release`);
    for (const p of svc.spec?.ports ?? []) problems.push(...targetCheck(name, p, selected));
  }
  return problems;
}

/** A named targetPort must be a port every selected workload declares. */
function targetCheck(
  service: string,
  p: V1ServicePort,
  selected: [string, string, V1PodTemplateSpec][],
): string[] {
  const target = p.targetPort ?? p.port;
  if (typeof target === 'number') return [];
  return selected
    .filter(
      ([, , t]) => !(t.spec?.containers ?? []).some((c) => containerPort(c, target) !== undefined),
    )
    .map(
      ([kind, wname]) =>
        `Service/${service}: port ${p.port} targets "${target}", which ${kind}/${wname} does not declare`,
    );
}
