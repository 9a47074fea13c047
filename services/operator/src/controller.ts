import type { Logger } from '@orderflow/platform';
import type { JetStreamPort } from './adapters/jetstream';
import { GROUP, VERSION, type KubePort } from './adapters/kube';
import {
  applyFailures,
  reconcile,
  runtimeConfigMapName,
  queryWorkerDeploymentName,
  wantedStreams,
} from './domain/reconcile';
import { CONSUMER_NAMES, parseOrderFlow, type OrderFlow } from './domain/spec';
import type { CatalogObserved, Observed, OrderFlowStatus, ScaleHistory } from './domain/types';
import { applyPlan, describeAction } from './executor';
import type { OperatorMetrics } from './metrics';
import { ReconcileQueue } from './queue';

export interface ControllerOptions {
  kube: KubePort;
  jetstream: JetStreamPort;
  namespace: string;
  resyncSeconds: number;
  logger: Logger;
  metrics: OperatorMetrics;
  isLeader: () => boolean;
  watchRestartDelayMs?: number;
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  /** NATS_STREAM of the services: a resource naming another stream is logged, since they would not follow it. */
  expectedStream?: string;
  now?: () => number;
}

interface Meta {
  name?: string;
  namespace?: string;
  generation?: number;
  deletionTimestamp?: string;
  resourceVersion?: string;
}
const metaOf = (obj: unknown): Meta => (obj as { metadata?: Meta } | null)?.metadata ?? {};

/**
 * Watches OrderFlow resources (list, then watch from the list's resourceVersion; the watch is
 * restarted with a relist after it ends or fails, after a delay), keeps them in a cache, and
 * reconciles each through the per-object queue: on changes, every resync period, and after failures
 * with backoff. Only the leader reconciles; a standby keeps its watch warm.
 */
export class Controller {
  private readonly cache = new Map<string, unknown>();
  private readonly histories = new Map<string, ScaleHistory>();
  private readonly queue: ReconcileQueue;
  private stopWatch: (() => void) | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private watching = false;
  private readonly now: () => number;

  constructor(private readonly opts: ControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.queue = new ReconcileQueue((key) => this.reconcileKey(key), {
      baseDelayMs: opts.backoff?.baseDelayMs ?? 1000,
      maxDelayMs: opts.backoff?.maxDelayMs ?? 5 * 60_000,
      onError: (key, err, retryInMs) =>
        opts.logger.warn({ key, err: errorText(err), retryInMs }, 'reconcile failed; retrying'),
    });
  }

  /** True while the watch stream is open (readiness). */
  get watchHealthy(): boolean {
    return this.watching;
  }

  start(): void {
    this.stopped = false;
    void this.runWatch();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.opts.resyncSeconds * 1000);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.watchTimer);
    clearInterval(this.resyncTimer);
    this.stopWatch?.();
    this.watching = false;
    await this.queue.stop();
  }

  /** Called on gaining leadership: reconcile everything now. On losing it, forget the scaling history. */
  leadershipChanged(leading: boolean): void {
    if (leading) this.enqueueAll();
    else this.histories.clear();
  }

  /** Waits until no reconcile is running (tests). */
  async idle(): Promise<void> {
    await this.queue.drain();
  }

  enqueueAll(): void {
    for (const key of this.cache.keys()) this.queue.enqueue(key);
  }

  private async runWatch(): Promise<void> {
    if (this.stopped) return;
    const { kube, namespace, logger } = this.opts;
    try {
      const list = await kube.listOrderFlows(namespace);
      const seen = new Set<string>();
      for (const item of list.items) {
        const key = this.keyOf(item);
        seen.add(key);
        this.cache.set(key, item);
        this.queue.enqueue(key);
      }
      for (const key of [...this.cache.keys()]) {
        if (!seen.has(key)) {
          this.cache.delete(key);
          this.queue.enqueue(key);
        }
      }
      let done = false;
      this.stopWatch = await kube.watchOrderFlows(
        namespace,
        list.resourceVersion,
        (type, object) => this.onWatchEvent(type, object),
        (err) => {
          if (done) return;
          done = true;
          this.watching = false;
          if (err) logger.warn({ err: errorText(err) }, 'OrderFlow watch failed; restarting');
          else logger.debug('OrderFlow watch closed; restarting');
          this.restartWatch(err ? undefined : 0);
        },
      );
      if (!done) this.watching = true;
    } catch (err: unknown) {
      this.watching = false;
      logger.warn({ err: errorText(err) }, 'OrderFlow list failed; retrying');
      this.restartWatch();
    }
  }

  private restartWatch(delayMs = this.opts.watchRestartDelayMs ?? 5000): void {
    if (this.stopped) return;
    this.opts.metrics.watchRestarts.inc();
    clearTimeout(this.watchTimer);
    this.watchTimer = setTimeout(() => void this.runWatch(), Math.max(delayMs, 100));
    this.watchTimer.unref();
  }

  private onWatchEvent(type: string, object: unknown): void {
    if (type === 'BOOKMARK') return;
    if (type === 'ERROR') {
      // Usually 410 Gone: the resourceVersion is too old. Relist.
      this.opts.logger.info({ status: object }, 'OrderFlow watch error event; relisting');
      this.stopWatch?.();
      return;
    }
    const key = this.keyOf(object);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.queue.enqueue(key);
      return;
    }
    const before = metaOf(this.cache.get(key));
    const after = metaOf(object);
    this.cache.set(key, object);
    // Our own status patches bump resourceVersion but not generation: do not reconcile on them.
    if (
      type === 'MODIFIED' &&
      before.generation === after.generation &&
      before.deletionTimestamp === after.deletionTimestamp
    )
      return;
    this.queue.enqueue(key);
  }

  private keyOf(object: unknown): string {
    const meta = metaOf(object);
    return `${meta.namespace ?? this.opts.namespace}/${meta.name ?? ''}`;
  }

  /** The object is gone: forget its history, its metrics and its queue entry. */
  private forgetDeleted(key: string, name: string): void {
    const { metrics } = this.opts;
    this.histories.delete(key);
    metrics.desiredReplicas.remove({ orderflow: name });
    for (const consumer of CONSUMER_NAMES)
      metrics.consumerLag.remove({ orderflow: name, consumer });
    this.queue.forget(key);
    metrics.reconciles.inc({ result: 'success' });
  }

  /** The cached object as an OrderFlow; undefined (logged, counted) when it does not parse. */
  private parseResource(raw: unknown, key: string, namespace: string): OrderFlow | undefined {
    const { metrics, logger, expectedStream } = this.opts;
    let resource: OrderFlow;
    try {
      resource = parseOrderFlow({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'OrderFlow',
        ...(raw as object),
      });
    } catch (err: unknown) {
      // The CRD schema should make this impossible; retrying would not help.
      logger.error({ key, err: errorText(err) }, 'OrderFlow does not parse; skipped');
      metrics.reconciles.inc({ result: 'error' });
      return undefined;
    }
    resource.metadata.namespace ??= namespace;
    const stream = resource.spec.eventBus.streamName;
    if (expectedStream && stream !== expectedStream)
      logger.warn(
        { key, stream, natsStream: expectedStream },
        'the resource names another stream than NATS_STREAM; services read NATS_STREAM',
      );
    return resource;
  }

  private async reconcileKey(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { metrics } = this.opts;
    if (!this.opts.isLeader()) {
      metrics.reconciles.inc({ result: 'skipped' });
      return;
    }
    const stopTimer = metrics.reconcileDuration.startTimer();
    const [namespace = this.opts.namespace, name = ''] = key.split('/');
    try {
      const raw = this.cache.get(key);
      if (raw === undefined) {
        this.forgetDeleted(key, name);
        return;
      }
      const resource = this.parseResource(raw, key, namespace);
      if (!resource) return;
      const outcome = await this.reconcileResource(resource, key);
      metrics.reconciles.inc({ result: outcome.failed ? 'error' : 'success' });
      if (outcome.failed) throw new Error(outcome.failed);
      return outcome.changed ? { requeueAfterMs: 2000 } : undefined;
    } finally {
      stopTimer();
    }
  }

  private async reconcileResource(
    resource: OrderFlow,
    key: string,
  ): Promise<{ changed: boolean; failed?: string }> {
    const { kube, jetstream, logger, metrics } = this.opts;
    const namespace = resource.metadata.namespace ?? this.opts.namespace;
    const name = resource.metadata.name;
    const observed = await observe(
      resource,
      namespace,
      { kube, jetstream },
      this.histories.get(key),
    );
    const now = this.now();
    const result = reconcile(resource, observed, now);

    const work = result.actions.filter((a) => a.type !== 'PatchStatus');
    for (const action of work)
      logger.info({ orderflow: key, action: action.type }, describeAction(action));
    const failures = await applyPlan(work, { jetstream, kube });
    if (result.history) this.histories.set(key, result.history);
    else this.histories.delete(key);

    const status: OrderFlowStatus = applyFailures(
      result.status,
      failures,
      observed.status?.conditions,
      now,
    );
    if (failures.length > 0 || result.actions.some((a) => a.type === 'PatchStatus')) {
      await kube.patchOrderFlowStatus(namespace, name, status);
      const cached = this.cache.get(key);
      if (cached && typeof cached === 'object') this.cache.set(key, { ...cached, status });
    }

    for (const c of status.consumers)
      metrics.consumerLag.set({ orderflow: name, consumer: c.name }, c.lag);
    if (status.queryWorkers.desiredReplicas !== undefined)
      metrics.desiredReplicas.set({ orderflow: name }, status.queryWorkers.desiredReplicas);
    return {
      changed: work.length > 0,
      ...(failures.length > 0 ? { failed: failures.map((f) => f.message).join('; ') } : {}),
    };
  }
}

/** Reads everything the reconcile needs; JetStream outages come back as an observation, Kubernetes errors throw. */
export async function observe(
  resource: OrderFlow,
  namespace: string,
  ports: { kube?: Pick<KubePort, 'readConfigMap' | 'readScale'>; jetstream: JetStreamPort },
  history: ScaleHistory | undefined,
): Promise<Observed> {
  const name = resource.metadata.name;
  const streams = wantedStreams(resource).map((s) => s.name);
  const jetstream = await ports.jetstream.observe(
    streams,
    resource.spec.eventBus.streamName,
    CONSUMER_NAMES,
  );
  const kube = ports.kube;
  let catalog: CatalogObserved = { state: 'notConfigured' };
  const ref = resource.spec.restaurant.catalog;
  if (ref && kube) {
    const cm = await kube.readConfigMap(namespace, ref.name);
    const text = cm?.data[ref.key];
    catalog =
      text === undefined
        ? {
            state: 'missing',
            message: cm
              ? `ConfigMap ${ref.name} has no key ${ref.key}`
              : `ConfigMap ${ref.name} not found`,
          }
        : { state: 'found', text };
  }
  return {
    jetstream,
    runtimeConfigMap: kube ? await kube.readConfigMap(namespace, runtimeConfigMapName(name)) : null,
    catalog,
    scale: kube ? await kube.readScale(namespace, queryWorkerDeploymentName(name)) : null,
    status: (resource.status ?? undefined) as Partial<OrderFlowStatus> | undefined,
    history,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
