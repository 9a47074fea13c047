/**
 * A reconcile queue serialised per object (like pepr's per-object queues and client-go's
 * workqueue): one reconcile of a key runs at a time; a key enqueued while it runs is run once more
 * afterwards; a failed reconcile is retried with exponential backoff; different keys run side by side.
 */
export interface QueueOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export type Worker = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

interface Entry {
  running: boolean;
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
  due: number;
  failures: number;
}

export class ReconcileQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly idle = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly worker: Worker,
    private readonly opts: QueueOptions,
  ) {}

  /** Schedules a reconcile of `key` after `delayMs` (an earlier schedule wins). */
  enqueue(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const entry = this.entry(key);
    if (entry.running) {
      if (delayMs === 0) entry.dirty = true;
      else this.schedule(key, entry, delayMs);
      return;
    }
    this.schedule(key, entry, delayMs);
  }

  backoffMs(failures: number): number {
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.max(0, failures - 1));
  }

  failuresOf(key: string): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  /** Forgets a key (the object was deleted) once its running reconcile, if any, finishes. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (!entry.running) this.entries.delete(key);
  }

  /** Resolves when nothing runs and nothing is scheduled to run now (for tests and shutdown). */
  async drain(): Promise<void> {
    if (![...this.entries.values()].some((e) => e.running)) return;
    await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    await this.drain();
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { running: false, dirty: false, timer: undefined, due: 0, failures: 0 };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private schedule(key: string, entry: Entry, delayMs: number): void {
    const due = Date.now() + delayMs;
    if (entry.timer && entry.due <= due) return;
    clearTimeout(entry.timer);
    entry.due = due;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.run(key, entry);
    }, delayMs);
    entry.timer.unref();
  }

  private async run(key: string, entry: Entry): Promise<void> {
    if (this.stopped) return;
    if (entry.running) {
      entry.dirty = true;
      return;
    }
    entry.running = true;
    entry.dirty = false;
    let next: number | undefined;
    try {
      const result = await this.worker(key);
      entry.failures = 0;
      next = result?.requeueAfterMs;
    } catch (err: unknown) {
      entry.failures += 1;
      next = this.backoffMs(entry.failures);
      this.opts.onError?.(key, err, next);
    } finally {
      entry.running = false;
    }
    if (this.stopped) {
      this.notifyIdle();
      return;
    }
    if (entry.dirty) this.schedule(key, entry, 0);
    else if (next !== undefined) this.schedule(key, entry, next);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if ([...this.entries.values()].some((e) => e.running)) return;
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }
}
