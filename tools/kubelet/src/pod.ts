import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Probe, V1SecurityContext } from '@kubernetes/client-node';
import { ContainerConfigError, expand, quantity, resolveEnv } from './env';
import type { Inventory, PodPlan } from './manifests';
import type { Podman } from './podman';
import { runProbe } from './probes';
import { Volumes } from './volumes';

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating' | 'Terminated';

export interface ContainerStatus {
  name: string;
  init: boolean;
  id?: string;
  state: 'waiting' | 'running' | 'exited';
  exitCode?: number;
  restarts: number;
  /** The startup probe passed (or there is none). */
  started: boolean;
  ready: boolean;
  /** The last failing probe, or why the container waits (CrashLoopBackOff, config errors). */
  reason?: string;
}

export interface StopReport {
  pod: string;
  container: string;
  exitCode: number | undefined;
  seconds: number;
  /** SIGKILLed at the end of the grace period: the container did not stop on SIGTERM in time. */
  killed: boolean;
  graceSeconds: number;
}

/** What every pod needs from the cluster it runs in. */
export interface PodContext {
  podman: Podman;
  inv: Inventory;
  runId: string;
  runDir: string;
  network: string;
  clusterDomain: string;
  /** DNS names the pod answers to: headless Services selecting it, its StatefulSet name. */
  aliases(plan: PodPlan): string[];
  /** Kubelet backoff times this factor (1 = 10 s doubling to 5 min; tests use less). */
  backoffScale: number;
  imageUser(image: string): Promise<string>;
  changed(pod: PodRunner): void;
  log(line: string): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  generation: number;
  exited: Promise<number>;
}

/**
 * One pod, run the way the kubelet runs it: a podman pod (the network, IPC and UTS namespaces
 * every container shares, with the pod's hostname and the cluster's DNS search path), then the
 * init containers one after another, each to a zero exit (retried with backoff), then the
 * containers together. Each container is supervised: its startup, liveness and readiness probes
 * run as declared; one that exits, or fails liveness, is restarted with the kubelet's doubling
 * backoff (per restartPolicy). `terminate()` is a pod deletion: the pod leaves the Services'
 * endpoints, preStop hooks run, then SIGTERM, and SIGKILL when the grace period ends.
 */
export class PodRunner {
  phase: Phase = 'Pending';
  ip = '';
  readonly statuses = new Map<string, ContainerStatus>();
  readonly events: string[] = [];
  private terminating = false;
  private readonly runs = new Map<string, Run>();
  private lifecycle: Promise<void> | undefined;
  private readonly podDir: string;
  private volumes: Volumes | undefined;
  readonly createdAt = Date.now();

  constructor(
    readonly plan: PodPlan,
    private readonly ctx: PodContext,
  ) {
    this.podDir = join(ctx.runDir, 'pods', plan.name);
    for (const c of plan.spec.initContainers ?? []) this.statuses.set(c.name, this.blank(c, true));
    for (const c of plan.spec.containers) this.statuses.set(c.name, this.blank(c, false));
  }

  get name(): string {
    return this.plan.name;
  }

  get ready(): boolean {
    if (this.phase !== 'Running' || this.terminating) return false;
    return this.plan.spec.containers.every((c) => this.statuses.get(c.name)?.ready === true);
  }

  get restartPolicy(): 'Always' | 'OnFailure' | 'Never' {
    const p = this.plan.spec.restartPolicy;
    return p === 'OnFailure' || p === 'Never' ? p : 'Always';
  }

  /** The podman pod's name: `<cluster>_<pod>`, so that two clusters on one machine do not collide. */
  get sandbox(): string {
    return `${this.ctx.runId}_${this.plan.name}`;
  }

  containerName(c: string): string {
    return `${this.sandbox}_${c}`;
  }

  private blank(c: V1Container, init: boolean): ContainerStatus {
    return { name: c.name, init, state: 'waiting', restarts: 0, started: false, ready: false };
  }

  private event(text: string): void {
    const line = `${this.plan.name}: ${text}`;
    this.events.push(`${new Date().toISOString()} ${text}`);
    this.ctx.log(line);
  }

  /** Creates the pod sandbox and starts its lifecycle in the background. */
  async start(): Promise<void> {
    const { podman, network, runId } = this.ctx;
    const ns = this.plan.namespace;
    const d = this.ctx.clusterDomain;
    mkdirSync(this.podDir, { recursive: true });
    const args = [
      'pod',
      'create',
      '--name',
      this.sandbox,
      '--infra-name',
      `${this.sandbox}_infra`,
      '--hostname',
      this.plan.hostname,
      '--network',
      network,
      '--dns-search',
      `${ns}.svc.${d}`,
      '--dns-search',
      `svc.${d}`,
      '--dns-search',
      d,
      '--dns-option',
      'ndots:5',
      '--label',
      `io.orderflow.kubelet=${runId}`,
      '--label',
      `io.orderflow.kubelet.owner=${this.plan.owner.kind}/${this.plan.owner.name}`,
    ];
    for (const a of this.ctx.aliases(this.plan)) args.push('--network-alias', a);
    await podman.ok(args);
    await podman.ok(['pod', 'start', this.sandbox]);
    const infra = await podman.json<
      { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[]
    >(['inspect', `${this.sandbox}_infra`]);
    this.ip = infra[0]?.NetworkSettings.Networks[network]?.IPAddress ?? '';
    this.volumes = new Volumes(
      this.plan,
      this.ctx.inv,
      this.podDir,
      join(this.ctx.runDir, 'claims'),
    );
    this.volumes.prepare();
    this.event(`sandbox ready, IP ${this.ip}`);
    this.lifecycle = this.run().catch((err: unknown) => {
      this.phase = 'Failed';
      this.event(`failed: ${err instanceof Error ? err.message : String(err)}`);
      this.ctx.changed(this);
    });
  }

  private async run(): Promise<void> {
    for (const c of this.plan.spec.initContainers ?? []) {
      for (;;) {
        if (this.terminating) return;
        const code = await this.runOnce(c, true);
        if (code === 0) break;
        if (this.terminating) return;
        if (this.restartPolicy === 'Never') {
          this.phase = 'Failed';
          this.event(`init container ${c.name} exited ${code}; restartPolicy Never: pod failed`);
          this.ctx.changed(this);
          return;
        }
        await this.backoff(c.name);
      }
    }
    if (this.terminating) return;
    this.phase = 'Running';
    this.ctx.changed(this);
    const codes = await Promise.all(this.plan.spec.containers.map((c) => this.supervise(c)));
    if (this.terminating) return;
    this.phase = codes.every((code) => code === 0) ? 'Succeeded' : 'Failed';
    this.event(`all containers ended (${codes.join(', ')}): ${this.phase}`);
    this.ctx.changed(this);
  }

  /** Runs a container until it ends (restarting it as restartPolicy says); resolves its last exit code. */
  private async supervise(c: V1Container): Promise<number> {
    for (;;) {
      const code = await this.runOnce(c, false);
      if (this.terminating) return code;
      if (this.restartPolicy === 'Never' || (this.restartPolicy === 'OnFailure' && code === 0))
        return code;
      await this.backoff(c.name);
      if (this.terminating) return code;
    }
  }

  /** Starts the container (created on first use, restarted after) and resolves with its exit code. */
  private async runOnce(c: V1Container, init: boolean): Promise<number> {
    const status = this.statuses.get(c.name)!;
    const { podman } = this.ctx;
    try {
      status.id ??= await this.create(c);
    } catch (err: unknown) {
      status.reason =
        err instanceof ContainerConfigError
          ? `CreateContainerConfigError: ${err.message}`
          : `CreateContainerError: ${err instanceof Error ? err.message : String(err)}`;
      this.event(`${c.name}: ${status.reason}`);
      return 128;
    }
    const started = await podman.exec(['start', status.id]);
    if (started.code !== 0) {
      status.reason = `RunContainerError: ${started.stderr.trim()}`;
      this.event(`${c.name}: ${status.reason}`);
      return 128;
    }
    const generation = (this.runs.get(c.name)?.generation ?? 0) + 1;
    const exited = podman
      .exec(['wait', '--interval', '500ms', status.id])
      .then((r) => (r.code === 0 ? Number(r.stdout.trim().split('\n').pop()) : 255));
    this.runs.set(c.name, { generation, exited });
    status.state = 'running';
    status.exitCode = undefined;
    status.reason = undefined;
    status.started = !c.startupProbe;
    status.ready = false;
    this.event(`${init ? 'init container' : 'container'} ${c.name} started`);
    if (!init) void this.probe(c, generation);
    this.ctx.changed(this);
    const code = await exited;
    status.state = 'exited';
    status.exitCode = code;
    status.ready = false;
    status.started = false;
    this.event(`${c.name} exited ${code}`);
    this.ctx.changed(this);
    return code;
  }

  private async backoff(name: string): Promise<void> {
    const status = this.statuses.get(name)!;
    status.restarts += 1;
    const ms = Math.min(10_000 * 2 ** (status.restarts - 1), 300_000) * this.ctx.backoffScale;
    status.reason = `CrashLoopBackOff: restarting in ${(ms / 1000).toFixed(1)} s`;
    this.event(`${name}: back-off ${(ms / 1000).toFixed(1)} s (restart ${status.restarts})`);
    const until = Date.now() + ms;
    while (!this.terminating && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  }

  private alive(name: string, generation: number): boolean {
    return !this.terminating && this.runs.get(name)?.generation === generation;
  }

  /** Startup first; then readiness and liveness, each on its own period. */
  private async probe(c: V1Container, generation: number): Promise<void> {
    const status = this.statuses.get(c.name)!;
    if (c.startupProbe) {
      const ok = await this.probeUntil(c, c.startupProbe, generation, 'startup', true);
      if (!ok) {
        if (this.alive(c.name, generation)) await this.restartFailing(c, 'startup probe failed');
        return;
      }
      status.started = true;
    }
    if (!c.readinessProbe) {
      status.ready = true;
      this.ctx.changed(this);
    }
    await Promise.all([
      c.readinessProbe ? this.readinessLoop(c, c.readinessProbe, generation) : Promise.resolve(),
      c.livenessProbe ? this.livenessLoop(c, c.livenessProbe, generation) : Promise.resolve(),
    ]);
  }

  private async once(c: V1Container, probe: V1Probe, kind: string): Promise<boolean> {
    const status = this.statuses.get(c.name)!;
    const r = await runProbe(probe, c, this.ip, status.id ?? '', this.ctx.podman);
    if (!r.ok) status.reason = `${kind} probe failed: ${r.detail}`;
    return r.ok;
  }

  /** Polls until success (true) or failureThreshold consecutive failures (false). */
  private async probeUntil(
    c: V1Container,
    probe: V1Probe,
    generation: number,
    kind: string,
    untilSuccess: boolean,
  ): Promise<boolean> {
    await sleep((probe.initialDelaySeconds ?? 0) * 1000);
    let failures = 0;
    while (this.alive(c.name, generation)) {
      if (await this.once(c, probe, kind)) {
        if (untilSuccess) return true;
        failures = 0;
      } else if (++failures >= (probe.failureThreshold ?? 3)) return false;
      await sleep((probe.periodSeconds ?? 10) * 1000);
    }
    return false;
  }

  private async readinessLoop(c: V1Container, probe: V1Probe, generation: number): Promise<void> {
    const status = this.statuses.get(c.name)!;
    await sleep((probe.initialDelaySeconds ?? 0) * 1000);
    let failures = 0;
    let successes = 0;
    while (this.alive(c.name, generation)) {
      if (await this.once(c, probe, 'readiness')) {
        failures = 0;
        if (++successes >= (probe.successThreshold ?? 1) && !status.ready) {
          status.ready = true;
          status.reason = undefined;
          this.event(`${c.name} ready`);
          this.ctx.changed(this);
        }
      } else {
        successes = 0;
        if (++failures >= (probe.failureThreshold ?? 3) && status.ready) {
          status.ready = false;
          this.event(`${c.name} not ready: ${status.reason ?? ''}`);
          this.ctx.changed(this);
        }
      }
      await sleep((probe.periodSeconds ?? 10) * 1000);
    }
  }

  private async livenessLoop(c: V1Container, probe: V1Probe, generation: number): Promise<void> {
    const ok = await this.probeUntil(c, probe, generation, 'liveness', false);
    if (!ok && this.alive(c.name, generation))
      await this.restartFailing(c, 'liveness probe failed');
  }

  /** A failed startup or liveness probe: the container is stopped (grace period) and restarted. */
  private async restartFailing(c: V1Container, why: string): Promise<void> {
    const status = this.statuses.get(c.name)!;
    this.event(`${c.name}: ${why} (${status.reason ?? ''}); restarting`);
    const grace = this.plan.spec.terminationGracePeriodSeconds ?? 30;
    await this.ctx.podman.exec(['stop', '--time', String(grace), status.id ?? '']);
  }

  /** Sends a signal to one container (the tests' `kill -9`): the kubelet then restarts it. */
  async kill(container: string, signal = 'KILL'): Promise<void> {
    const status = this.statuses.get(container);
    if (!status?.id) throw new Error(`${this.plan.name} has no container ${container}`);
    this.event(`${container}: sending SIG${signal}`);
    await this.ctx.podman.ok(['kill', '--signal', signal, status.id]);
  }

  /** Resolves when the pod is Ready (true) or the time is up (false). */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.ready) return true;
      if (this.phase === 'Failed' || this.terminating) return false;
      await sleep(250);
    }
    return this.ready;
  }

  /** Resolves with the phase once the pod completed (Jobs, test pods) or the time is up. */
  async waitDone(timeoutMs: number): Promise<Phase> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.phase === 'Succeeded' || this.phase === 'Failed') return this.phase;
      await sleep(250);
    }
    return this.phase;
  }

  /** Why the pod is not Ready, in one line per container. */
  describe(): string {
    const lines = [
      `${this.plan.name} (${this.phase}${this.ready ? ', Ready' : ''}, IP ${this.ip})`,
    ];
    for (const s of this.statuses.values())
      lines.push(
        `  ${s.init ? 'init ' : ''}${s.name}: ${s.state}${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}` +
          `, restarts ${s.restarts}${s.ready ? ', ready' : ''}${s.reason ? `, ${s.reason}` : ''}`,
      );
    return lines.join('\n');
  }

  async logs(container: string, tail = 50): Promise<string> {
    const id = this.statuses.get(container)?.id;
    if (!id) return '';
    const r = await this.ctx.podman.exec(['logs', '--tail', String(tail), id]);
    return r.stdout + r.stderr;
  }

  /**
   * Deletes the pod as the API server and kubelet would: it leaves every Service's endpoints at
   * once, each running container's preStop hook runs, then SIGTERM; a container still running when
   * terminationGracePeriodSeconds (counted from the start) is over gets SIGKILL.
   */
  async terminate(): Promise<StopReport[]> {
    if (this.terminating) return [];
    this.terminating = true;
    this.phase = 'Terminating';
    this.ctx.changed(this);
    const grace = this.plan.spec.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + grace * 1000;
    const all = [...(this.plan.spec.initContainers ?? []), ...this.plan.spec.containers];
    const reports = await Promise.all(
      all
        .filter((c) => this.statuses.get(c.name)?.state === 'running')
        .map((c) => this.stopContainer(c, deadline, grace)),
    );
    await this.lifecycle;
    await this.ctx.podman.exec(['pod', 'rm', '--force', this.sandbox]);
    this.phase = 'Terminated';
    this.ctx.changed(this);
    return reports;
  }

  private async stopContainer(
    c: V1Container,
    deadline: number,
    grace: number,
  ): Promise<StopReport> {
    const status = this.statuses.get(c.name)!;
    const run = this.runs.get(c.name);
    const id = status.id ?? '';
    const t0 = Date.now();
    await this.preStop(c, id, deadline);
    await this.ctx.podman.exec(['kill', '--signal', 'TERM', id]);
    const code = await Promise.race([
      run?.exited ?? Promise.resolve(undefined),
      sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const),
    ]);
    let exitCode = typeof code === 'number' ? code : undefined;
    const killed = code === 'timeout';
    if (killed) {
      await this.ctx.podman.exec(['kill', '--signal', 'KILL', id]);
      exitCode = await run?.exited;
      this.event(
        `${c.name} did not stop within ${grace} s; its last lines:\n${await this.logs(c.name, 20)}`,
      );
    }
    const seconds = (Date.now() - t0) / 1000;
    this.event(
      `${c.name} stopped in ${seconds.toFixed(1)} s (exit ${exitCode}${killed ? ', SIGKILL after the grace period' : ''})`,
    );
    return {
      pod: this.plan.name,
      container: c.name,
      exitCode,
      seconds,
      killed,
      graceSeconds: grace,
    };
  }

  /** The preStop hook (exec, sleep or httpGet), within what is left of the grace period. */
  private async preStop(c: V1Container, id: string, deadline: number): Promise<void> {
    const pre = c.lifecycle?.preStop;
    const left = Math.max(1, deadline - Date.now());
    if (pre?.exec?.command)
      await this.ctx.podman.exec(['exec', id, ...pre.exec.command], { timeoutMs: left });
    else if (pre?.sleep) await sleep(Math.min(pre.sleep.seconds * 1000, left));
    else if (pre?.httpGet)
      await runProbe(
        { httpGet: pre.httpGet, timeoutSeconds: Math.ceil(left / 1000) },
        c,
        this.ip,
        id,
        this.ctx.podman,
      );
  }

  /** `podman create` of a container, from its spec as the kubelet reads it. */
  private async create(c: V1Container): Promise<string> {
    const { podman, inv } = this.ctx;
    const image = c.image ?? '';
    if (!(await podman.imageExists(image)))
      throw new ContainerConfigError(`ErrImageNeverPull: image ${image} is not present`);
    const { vars } = resolveEnv(c, inv, {
      plan: this.plan,
      podIP: this.ip,
      serviceAccountName: this.plan.spec.serviceAccountName ?? 'default',
    });
    const mounts = [...(this.volumes?.mountArgs(c) ?? []), ...this.serviceAccount(vars)];
    const sc = this.securityContext(c);
    const user = await this.user(c, sc, image);
    const grace = this.plan.spec.terminationGracePeriodSeconds ?? 30;
    const args = [
      'create',
      '--pull',
      'never',
      '--pod',
      this.sandbox,
      '--name',
      this.containerName(c.name),
      '--label',
      `io.orderflow.kubelet=${this.ctx.runId}`,
      ...this.envArgs(c.name, vars),
      ...mounts,
      ...(user ? ['--user', user] : []),
      ...this.securityArgs(sc),
      ...resourceArgs(c),
      ...(c.workingDir ? ['--workdir', c.workingDir] : []),
      '--stop-timeout',
      String(grace),
      // command replaces the image's ENTRYPOINT, args its CMD; command without args drops the CMD.
      ...(c.command ? ['--entrypoint', JSON.stringify(c.command.map((a) => expand(a, vars)))] : []),
      image,
      ...(c.args ?? []).map((a) => expand(a, vars)),
    ];
    return (await podman.ok(args)).trim();
  }

  /** The environment as an env file (0600, so no value shows in a process list); multi-line values as flags. */
  private envArgs(container: string, vars: Map<string, string>): string[] {
    const envFile = join(this.podDir, `${container}.env`);
    const lines: string[] = [];
    const args = ['--env-file', envFile];
    for (const [k, v] of vars) {
      if (/[\r\n]/.test(v)) args.push('--env', `${k}=${v}`);
      else lines.push(`${k}=${v}`);
    }
    writeFileSync(envFile, lines.join('\n') + '\n', { mode: 0o600 });
    return args;
  }

  /** The service-account mount and API server variables, when the pod automounts a token. */
  private serviceAccount(vars: Map<string, string>): string[] {
    if (this.plan.spec.automountServiceAccountToken !== true) return [];
    const sa = join(this.podDir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'emulated-kubelet-no-api-server');
    writeFileSync(join(sa, 'namespace'), this.plan.namespace);
    writeFileSync(join(sa, 'ca.crt'), '');
    vars.set('KUBERNETES_SERVICE_HOST', `kubernetes.default.svc.${this.ctx.clusterDomain}`);
    vars.set('KUBERNETES_SERVICE_PORT', '443');
    return ['-v', `${sa}:/var/run/secrets/kubernetes.io/serviceaccount:ro`];
  }

  /** securityContext as podman flags: groups, read-only root, capabilities, no-new-privileges, seccomp. */
  private securityArgs(sc: V1SecurityContext): string[] {
    const podSc = this.plan.spec.securityContext;
    const groups = [podSc?.fsGroup, ...(podSc?.supplementalGroups ?? [])].filter(
      (g): g is number => g !== undefined,
    );
    return [
      ...groups.flatMap((g) => ['--group-add', String(g)]),
      // --read-only-tmpfs=false: only the pod's own volumes are writable, as on a cluster.
      ...(sc.readOnlyRootFilesystem ? ['--read-only', '--read-only-tmpfs=false'] : []),
      ...(sc.privileged ? ['--privileged'] : []),
      ...capabilityArgs(sc),
      ...(sc.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []),
      ...(sc.seccompProfile?.type === 'Unconfined' ? ['--security-opt', 'seccomp=unconfined'] : []),
    ];
  }

  /** The container's securityContext over the pod's (the fields both have). */
  private securityContext(c: V1Container): V1SecurityContext {
    const pod = this.plan.spec.securityContext ?? {};
    return {
      runAsUser: pod.runAsUser,
      runAsGroup: pod.runAsGroup,
      runAsNonRoot: pod.runAsNonRoot,
      seccompProfile: pod.seccompProfile,
      ...(c.securityContext ?? {}),
    };
  }

  /** `uid[:gid]`; refuses what the kubelet refuses under runAsNonRoot. */
  private async user(c: V1Container, sc: V1SecurityContext, image: string): Promise<string> {
    const imageUser = await this.ctx.imageUser(image);
    const uid = sc.runAsUser ?? (imageUser.split(':')[0] || '0');
    if (sc.runAsNonRoot) {
      if (!/^\d+$/.test(String(uid)))
        throw new ContainerConfigError(
          `${c.name}: runAsNonRoot and image has non-numeric user (${uid}), cannot verify user is non-root`,
        );
      if (Number(uid) === 0)
        throw new ContainerConfigError(`${c.name}: runAsNonRoot and image will run as root`);
    }
    if (sc.runAsUser === undefined && sc.runAsGroup === undefined) return imageUser;
    return sc.runAsGroup !== undefined ? `${uid}:${sc.runAsGroup}` : String(uid);
  }
}

/** Memory and CPU limits (requests only inform a scheduler, which there is none of). */
function resourceArgs(c: V1Container): string[] {
  const args: string[] = [];
  const mem = quantity(c.resources?.limits?.['memory']);
  if (mem !== undefined) args.push('--memory', String(Math.floor(mem)));
  const cpu = quantity(c.resources?.limits?.['cpu']);
  if (cpu !== undefined) args.push('--cpus', String(cpu));
  return args;
}

function capabilityArgs(sc: V1SecurityContext): string[] {
  const drop = sc.capabilities?.drop ?? [];
  const add = sc.capabilities?.add ?? [];
  return [
    ...drop.flatMap((cap) => ['--cap-drop', cap]),
    ...add.flatMap((cap) => ['--cap-add', cap]),
  ];
}
