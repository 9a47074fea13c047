import type { KubePort, LeaseRecord } from './adapters/kube';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** The leader gives up when it could not renew for this long (less than the lease duration). */
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * Lease-based leader election on coordination.k8s.io/v1, after client-go's leaderelection: the
 * holder renews every retry period; a candidate takes the Lease once it has not seen it change for
 * a full lease duration (measured on its own clock, so clock skew between nodes does not matter);
 * writes carry the resourceVersion, so two candidates cannot both win. On stop the leader hands
 * over by clearing the holder, and a standby takes over at its next retry instead of waiting for
 * the lease to expire.
 */
export class LeaderElector {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private observed: { record: LeaseRecord; at: number } | undefined;
  private lastRenew = 0;
  private readonly now: () => number;

  constructor(
    private readonly kube: Pick<KubePort, 'readLease' | 'createLease' | 'replaceLease'>,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  /** Stops campaigning; a leader releases the Lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const current = await this.kube.readLease(this.opts.namespace, this.opts.name);
      if (current?.holder === this.opts.identity) {
        await this.kube.replaceLease(this.opts.namespace, this.opts.name, {
          ...current,
          holder: undefined,
          durationSeconds: 1,
          renewTime: new Date(this.now()),
        });
      }
    } catch (err: unknown) {
      this.opts.onError?.(err);
    }
  }

  /** One round: acquire or renew. Exposed for tests. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.opts;
    const now = this.now();
    const current = await this.kube.readLease(namespace, name);
    if (!current) {
      const created = await this.kube.createLease(namespace, name, {
        holder: identity,
        durationSeconds: leaseDurationSeconds,
        acquireTime: new Date(now),
        renewTime: new Date(now),
        transitions: 0,
        resourceVersion: undefined,
      });
      if (created) this.observed = undefined;
      return created;
    }
    if (!this.observed || this.observed.record.resourceVersion !== current.resourceVersion) {
      this.observed = { record: current, at: now };
    }
    const heldByOther =
      current.holder !== undefined && current.holder !== '' && current.holder !== identity;
    const expired = this.observed.at + current.durationSeconds * 1000 <= now;
    if (heldByOther && !expired) return false;

    const mine = current.holder === identity;
    const ok = await this.kube.replaceLease(namespace, name, {
      holder: identity,
      durationSeconds: leaseDurationSeconds,
      acquireTime: mine && current.acquireTime ? current.acquireTime : new Date(now),
      renewTime: new Date(now),
      transitions: mine ? current.transitions : current.transitions + 1,
      resourceVersion: current.resourceVersion,
    });
    return ok;
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = this.now();
        this.setLeading(true);
      } else if (this.leading) {
        // Someone else holds a valid Lease: we lost it.
        this.setLeading(false);
      }
    } catch (err: unknown) {
      this.opts.onError?.(err);
      if (this.leading && this.now() - this.lastRenew > this.opts.renewDeadlineSeconds * 1000)
        this.setLeading(false);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.loop(), this.opts.retryPeriodSeconds * 1000);
    this.timer.unref();
  }

  private setLeading(value: boolean): void {
    if (this.leading === value) return;
    this.leading = value;
    if (value) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }
}
