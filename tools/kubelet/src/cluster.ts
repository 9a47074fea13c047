import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { promises as dns } from 'node:dns';
import { join, resolve } from 'node:path';
import type { V1Container, V1Deployment, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { staticChecks } from './checks';
import {
  barePod,
  deploymentPod,
  inventory,
  jobPod,
  parseManifests,
  selects,
  statefulSetPod,
  type Inventory,
  type KubeObject,
  type PodPlan,
} from './manifests';
import { PodRunner, type PodContext, type StopReport } from './pod';
import { Podman, ROOT } from './podman';
import { containerPort } from './probes';

export interface ClusterOptions {
  /** Names every podman object of this run (`<name>_<pod>`), so runs do not collide. */
  name: string;
  namespace: string;
  clusterDomain?: string;
  /** The image that runs the Service proxies (it needs `node`): the orderflow image. */
  proxyImage: string;
  /** Kubelet restart backoff times this (1 = 10 s doubling to 5 min). */
  backoffScale?: number;
  /** Where pod volumes, env files and endpoints live (default .run/kube/<name>). */
  runDir?: string;
  log?: (line: string) => void;
  podman?: Podman;
  /** Service -> [local port, Service port] pairs published on 127.0.0.1 (kubectl port-forward). */
  publish?: Record<string, [number, number][]>;
}

export class StaticCheckError extends Error {
  override name = 'StaticCheckError';
  constructor(readonly problems: string[]) {
    super(`the rendered chart does not fit its image:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The variables each service's config schema reads, asked of the image itself. */
export async function envNamesOf(podman: Podman, image: string): Promise<Map<string, Set<string>>> {
  const script = [
    "const fs = require('fs');",
    'const out = {};',
    "for (const s of fs.readdirSync('services')) {",
    '  try { out[s] = Object.keys(require(`./services/${s}/dist/config.js`).configSchema.shape); } catch (e) {}',
    '}',
    'process.stdout.write(JSON.stringify(out));',
  ].join('\n');
  const out = await podman.ok([
    'run',
    '--rm',
    '--pull',
    'never',
    '--network',
    'none',
    '--entrypoint',
    'node',
    image,
    '-e',
    script,
  ]);
  const parsed = JSON.parse(out) as Record<string, string[]>;
  return new Map(Object.entries(parsed).map(([k, v]) => [k, new Set(v)]));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The rendered chart, run as a cluster would run it, minus the parts that need an API server:
 *
 * - kubelet: every pod a Deployment, StatefulSet or Job would create becomes a podman pod
 *   (PodRunner: init containers, probes, restarts with backoff, securityContext, volumes, env
 *   with valueFrom and $(VAR) expansion, preStop and the grace period);
 * - Service network: one user-defined podman network with DNS; every pod has the cluster's DNS
 *   search path; a ClusterIP Service is a small proxy container answering to the Service's name
 *   on its ports and forwarding to the ready endpoints (kube-proxy); a headless Service's name and
 *   a StatefulSet pod's `<pod>.<service>` name resolve to the pods themselves;
 * - controllers, by hand: Deployment replicas, rolling restarts (maxSurge 1, maxUnavailable 0),
 *   scaling, StatefulSet ordinals, Jobs, helm hooks (pre-/post-install Jobs in weight order) and
 *   `helm test` pods.
 *
 * Not emulated: a scheduler and nodes (every pod runs on this machine), the API server (nothing
 * can watch or change objects: the operator has nothing to talk to), admission, NetworkPolicy
 * enforcement, resource requests (limits are applied), service links, live ConfigMap updates.
 */
export class Cluster {
  readonly podman: Podman;
  readonly inv: Inventory;
  readonly runDir: string;
  readonly network: string;
  readonly clusterDomain: string;
  private readonly runners = new Map<string, PodRunner>();
  private readonly imageUsers = new Map<string, Promise<string>>();
  private readonly log: (line: string) => void;
  private endpointsDirty = false;
  private gateway = '';
  readonly stopReports: StopReport[] = [];

  constructor(
    objects: KubeObject[],
    readonly opts: ClusterOptions,
  ) {
    this.podman = opts.podman ?? new Podman();
    this.inv = inventory(objects, opts.namespace);
    this.clusterDomain = opts.clusterDomain ?? 'cluster.local';
    this.runDir = resolve(opts.runDir ?? join(ROOT, '.run', 'kube', opts.name));
    this.network = `orderflow-kube-${opts.name}`;
    this.log = opts.log ?? (() => undefined);
  }

  static fromYaml(text: string, opts: ClusterOptions): Cluster {
    return new Cluster(parseManifests(text), opts);
  }

  private get label(): string {
    return `io.orderflow.kubelet=${this.opts.name}`;
  }

  /** Removes whatever an earlier run of this name left behind (pods, proxies, network, files). */
  async clean(): Promise<void> {
    await this.podman.exec(['pod', 'rm', '--force', '--filter', `label=${this.label}`]);
    const ids = (await this.podman.exec(['ps', '-aq', '--filter', `label=${this.label}`])).stdout
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) await this.podman.exec(['rm', '--force', ...ids]);
    await this.podman.exec(['network', 'rm', '--force', this.network]);
    rmSync(this.runDir, { recursive: true, force: true });
  }

  /** The static checks (see checks.ts) against the image's own config schemas. */
  async check(image: string): Promise<void> {
    const problems = staticChecks(
      this.inv,
      await envNamesOf(this.podman, image),
      this.clusterDomain,
    );
    for (const img of this.images())
      if (!(await this.podman.imageExists(img)))
        problems.push(`image ${img} is not in the local store (nothing can be pulled here)`);
    if (problems.length > 0) throw new StaticCheckError(problems);
  }

  private images(): Set<string> {
    const out = new Set<string>();
    const add = (
      spec: { containers: { image?: string }[]; initContainers?: { image?: string }[] } | undefined,
    ): void => {
      for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])])
        if (c.image) out.add(c.image);
    };
    for (const d of this.inv.deployments.values()) add(d.spec?.template.spec);
    for (const s of this.inv.statefulSets.values()) add(s.spec?.template.spec);
    for (const j of this.inv.jobs.values()) add(j.spec?.template.spec);
    for (const p of this.inv.pods.values()) add(p.spec);
    return out;
  }

  /**
   * Brings the release up in install order: network and Service proxies, pre-install hooks,
   * StatefulSets, Deployments and Jobs, then post-install hooks (each hook Job must succeed).
   * Resolves once everything is created; `waitReady` waits for readiness.
   */
  async up(): Promise<void> {
    await this.clean();
    mkdirSync(join(this.runDir, 'endpoints'), { recursive: true });
    await this.podman.ok(['network', 'create', '--label', this.label, this.network]);
    const net = await this.podman.json<{ subnets: { gateway: string }[] }[]>([
      'network',
      'inspect',
      this.network,
    ]);
    this.gateway = net[0]?.subnets[0]?.gateway ?? '';
    this.writeEndpoints();
    await Promise.all(
      [...this.inv.services.values()].filter(isClusterIP).map((s) => this.proxy(s)),
    );

    const hooks = [...this.inv.jobs.values()].map((j) => jobPod(j, this.opts.namespace));
    for (const plan of hooks.filter((p) => p.hook?.phase.includes('pre-install')).sort(byWeight))
      await this.runJob(plan);
    for (const s of this.inv.statefulSets.values()) void this.startStatefulSet(s);
    for (const d of this.inv.deployments.values())
      for (let i = 0; i < (d.spec?.replicas ?? 1); i++)
        await this.startPod(deploymentPod(d, this.opts.namespace));
    for (const plan of hooks.filter((p) => !p.hook)) await this.startPod(plan);
    const post = hooks.filter((p) => p.hook?.phase.includes('post-install')).sort(byWeight);
    if (post.length > 0)
      void (async () => {
        for (const plan of post) await this.runJob(plan);
      })();
  }

  private async startStatefulSet(s: V1StatefulSet): Promise<void> {
    const replicas = s.spec?.replicas ?? 1;
    const parallel = s.spec?.podManagementPolicy === 'Parallel';
    for (let i = 0; i < replicas; i++) {
      const pod = await this.startPod(statefulSetPod(s, i, this.opts.namespace));
      if (!parallel) await pod.waitReady(30 * 60_000);
    }
  }

  /** Runs a Job's pod to completion (restarts per restartPolicy); throws if it failed. */
  private async runJob(plan: PodPlan, timeoutMs = 10 * 60_000): Promise<void> {
    const pod = await this.startPod(plan);
    const phase = await pod.waitDone(timeoutMs);
    if (phase !== 'Succeeded')
      throw new Error(`hook ${plan.owner.kind}/${plan.owner.name}: ${pod.describe()}`);
  }

  async startPod(plan: PodPlan): Promise<PodRunner> {
    const runner = new PodRunner(plan, this.context());
    this.runners.set(plan.name, runner);
    await runner.start();
    return runner;
  }

  private context(): PodContext {
    return {
      podman: this.podman,
      inv: this.inv,
      runId: this.opts.name,
      runDir: this.runDir,
      network: this.network,
      clusterDomain: this.clusterDomain,
      backoffScale: this.opts.backoffScale ?? 1,
      aliases: (plan) => this.aliases(plan),
      imageUser: (image) => this.imageUser(image),
      changed: () => this.changed(),
      log: this.log,
    };
  }

  private imageUser(image: string): Promise<string> {
    let u = this.imageUsers.get(image);
    if (!u) {
      u = this.podman
        .ok(['image', 'inspect', '--format', '{{.Config.User}}', image])
        .then((s) => s.trim());
      this.imageUsers.set(image, u);
    }
    return u;
  }

  private fqdn(service: string): string {
    return `${service}.${this.opts.namespace}.svc.${this.clusterDomain}`;
  }

  /** A pod answers to the headless Services that select it and, in a StatefulSet, `<pod>.<service>`. */
  private aliases(plan: PodPlan): string[] {
    const names: string[] = [];
    for (const [name, svc] of this.inv.services)
      if (!isClusterIP(svc) && selects(svc.spec?.selector, plan.labels))
        names.push(this.fqdn(name));
    if (plan.subdomain) names.push(`${plan.hostname}.${this.fqdn(plan.subdomain)}`);
    return names;
  }

  /** A ClusterIP Service: the proxy container, named and reachable as the Service. */
  private async proxy(svc: V1Service): Promise<void> {
    const name = svc.metadata?.name ?? '';
    await this.podman.ok([
      'run',
      '--detach',
      '--pull',
      'never',
      '--name',
      `${this.opts.name}_svc_${name}`,
      '--label',
      this.label,
      '--network',
      this.network,
      '--network-alias',
      this.fqdn(name),
      ...(this.opts.publish?.[name] ?? []).flatMap(([local, port]) => [
        '--publish',
        `127.0.0.1:${local}:${port}`,
      ]),
      '--user',
      '65532:65532',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--sysctl',
      'net.ipv4.ip_unprivileged_port_start=0',
      '-v',
      `${join(ROOT, 'tools', 'kubelet', 'dist', 'service-proxy.js')}:/kube-proxy/service-proxy.js:ro`,
      '-v',
      `${join(this.runDir, 'endpoints')}:/endpoints:ro`,
      '--entrypoint',
      'node',
      this.opts.proxyImage,
      '/kube-proxy/service-proxy.js',
      `/endpoints/${name}.json`,
    ]);
  }

  private changed(): void {
    if (this.endpointsDirty) return;
    this.endpointsDirty = true;
    setImmediate(() => {
      this.endpointsDirty = false;
      this.writeEndpoints();
    });
  }

  /** The endpoints of every Service: its selected pods that are Ready (or all, with publishNotReadyAddresses). */
  private writeEndpoints(): void {
    for (const [name, svc] of this.inv.services) {
      const ports = (svc.spec?.ports ?? []).map((p) => ({
        name: p.name ?? `port-${p.port}`,
        port: p.port,
        target: p.targetPort ?? p.port,
      }));
      const endpoints = this.pods()
        .filter((pod) => pod.ip && selects(svc.spec?.selector, pod.plan.labels))
        .filter(
          (pod) => pod.ready || (svc.spec?.publishNotReadyAddresses && pod.phase === 'Running'),
        )
        .map((pod) => ({ pod: pod.name, ip: pod.ip, targets: targetsOf(pod, ports) }));
      const file = join(this.runDir, 'endpoints', `${name}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify({ service: name, ports, endpoints }));
      renameSync(`${file}.tmp`, file);
    }
  }

  pods(): PodRunner[] {
    return [...this.runners.values()];
  }

  /** The live pods of a Deployment, StatefulSet or Job. */
  podsOf(kind: string, name: string): PodRunner[] {
    return this.pods().filter(
      (p) =>
        p.plan.owner.kind === kind &&
        p.plan.owner.name === name &&
        p.phase !== 'Terminating' &&
        p.phase !== 'Terminated',
    );
  }

  /** Waits until every Deployment and StatefulSet pod is Ready; throws with what is not, and its logs. */
  async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const waiting = this.pods().filter(
        (p) =>
          !p.plan.helmTest &&
          p.plan.owner.kind !== 'Job' &&
          p.plan.owner.kind !== 'Pod' &&
          p.phase !== 'Terminated' &&
          !p.ready,
      );
      const expected =
        [...this.inv.deployments.values()].reduce((n, d) => n + (d.spec?.replicas ?? 1), 0) +
        [...this.inv.statefulSets.values()].reduce((n, s) => n + (s.spec?.replicas ?? 1), 0);
      const live = this.pods().filter(
        (p) => p.plan.owner.kind === 'Deployment' || p.plan.owner.kind === 'StatefulSet',
      );
      if (waiting.length === 0 && live.length >= expected) return;
      if (Date.now() > until)
        throw new Error(`not Ready after ${timeoutMs / 1000} s:\n${await this.explain(waiting)}`);
      await sleep(500);
    }
  }

  /** `kubectl describe` and `kubectl logs --tail` of some pods, for failure messages. */
  async explain(pods: PodRunner[], tail = 30): Promise<string> {
    const parts: string[] = [];
    for (const p of pods) {
      parts.push(p.describe());
      for (const s of p.statuses.values())
        if (s.id)
          parts.push(
            `  --- ${s.name} logs ---\n${(await p.logs(s.name, tail)).replace(/^/gm, '  | ')}`,
          );
    }
    return parts.join('\n');
  }

  /** The IP behind a Service name, asked of the network's DNS (as a pod's resolver would). */
  async resolve(name: string): Promise<string> {
    const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([this.gateway]);
    const fqdn = name.includes('.') ? name : this.fqdn(name);
    const [ip] = await resolver.resolve4(fqdn);
    if (!ip) throw new Error(`${fqdn} does not resolve`);
    return ip;
  }

  /** `http://<service ip>:<port>` of a Service, through its name. */
  async serviceUrl(name: string, port: number): Promise<string> {
    return `http://${await this.resolve(name)}:${port}`;
  }

  /**
   * `kubectl rollout restart deployment/<name>` with the Deployment's strategy as the chart sets
   * it (maxSurge 1, maxUnavailable 0): one new pod, and once it is Ready one old pod is deleted
   * (gracefully, in the background) and the next new pod starts.
   */
  async rolloutRestart(name: string, timeoutMs = 5 * 60_000): Promise<StopReport[]> {
    const d = this.inv.deployments.get(name);
    if (!d) throw new Error(`no Deployment ${name}`);
    const old = this.podsOf('Deployment', name);
    const deletions: Promise<StopReport[]>[] = [];
    for (const pod of old) {
      const fresh = await this.startPod(deploymentPod(restarted(d), this.opts.namespace));
      if (!(await fresh.waitReady(timeoutMs)))
        throw new Error(`rollout of ${name} stuck:\n${await this.explain([fresh])}`);
      deletions.push(pod.terminate());
    }
    const reports = (await Promise.all(deletions)).flat();
    this.stopReports.push(...reports);
    return reports;
  }

  /** `kubectl scale`: adds pods, or deletes the newest. */
  async scale(name: string, replicas: number): Promise<void> {
    const d = this.inv.deployments.get(name);
    if (!d) throw new Error(`no Deployment ${name}`);
    const pods = this.podsOf('Deployment', name).sort((a, b) => a.createdAt - b.createdAt);
    for (let i = pods.length; i < replicas; i++)
      await this.startPod(deploymentPod(d, this.opts.namespace));
    const extra = pods.slice(replicas);
    this.stopReports.push(...(await Promise.all(extra.map((p) => p.terminate()))).flat());
  }

  /** `helm test`: runs the test hook pods to completion; resolves each pod's phase and logs. */
  async helmTest(timeoutMs = 5 * 60_000): Promise<{ pod: string; phase: string; logs: string }[]> {
    const out = [];
    for (const p of this.inv.pods.values()) {
      const plan = barePod(p, this.opts.namespace);
      if (!plan.helmTest) continue;
      const pod = await this.startPod(plan);
      const phase = await pod.waitDone(timeoutMs);
      const logs = (await Promise.all(plan.spec.containers.map((c) => pod.logs(c.name, 200)))).join(
        '\n',
      );
      out.push({ pod: plan.name, phase, logs });
      await pod.terminate();
    }
    return out;
  }

  /** Deletes every pod (gracefully, in parallel) and the network; returns how each container stopped. */
  async down(): Promise<StopReport[]> {
    const reports = (await Promise.all(this.pods().map((p) => p.terminate()))).flat();
    this.stopReports.push(...reports);
    await this.clean();
    return reports;
  }
}

function isClusterIP(svc: V1Service): boolean {
  return svc.spec?.clusterIP !== 'None';
}

function byWeight(a: PodPlan, b: PodPlan): number {
  return (a.hook?.weight ?? 0) - (b.hook?.weight ?? 0);
}

/** What `kubectl rollout restart` changes: an annotation on the pod template. */
function restarted(d: V1Deployment): V1Deployment {
  const copy = structuredClone(d);
  const tpl = copy.spec!.template;
  tpl.metadata = tpl.metadata ?? {};
  tpl.metadata.annotations = {
    ...(tpl.metadata.annotations ?? {}),
    'kubectl.kubernetes.io/restartedAt': new Date().toISOString(),
  };
  return copy;
}

/** A pod's port number for each Service port: the container port its targetPort names (or the number). */
function targetsOf(
  pod: PodRunner,
  ports: { name: string; target: number | string }[],
): Record<string, number> {
  const targets: Record<string, number> = {};
  for (const p of ports) {
    const declares = (c: V1Container): boolean =>
      typeof p.target === 'number' || (c.ports ?? []).some((cp) => cp.name === p.target);
    const c = pod.plan.spec.containers.find(declares);
    const n = c && containerPort(c, p.target);
    if (n !== undefined) targets[p.name] = n;
  }
  return targets;
}
