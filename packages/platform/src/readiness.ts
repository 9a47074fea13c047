/** A named readiness check: resolves (or returns true) when healthy; throws or returns false when not. */
export type Check = () => boolean | Promise<boolean | void> | void;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/**
 * The checks behind `/readyz` (and `/startupz`, which passes once `started()` was called).
 * Each check has a time limit, so a hung dependency makes the service unready rather than
 * hanging the probe.
 */
export class Readiness {
  private readonly checks = new Map<string, Check>();
  private startedAt: number | undefined;
  private stopping = false;

  constructor(private readonly timeoutMs = 2000) {}

  add(name: string, check: Check): this {
    this.checks.set(name, check);
    return this;
  }

  started(): void {
    this.startedAt ??= Date.now();
  }

  get isStarted(): boolean {
    return this.startedAt !== undefined;
  }

  /** Called on SIGTERM: the service reports unready so that traffic drains before it stops. */
  markStopping(): void {
    this.stopping = true;
  }

  async report(): Promise<ReadinessReport> {
    const checks: ReadinessReport['checks'] = {};
    if (this.stopping) checks['shutdown'] = { ok: false, error: 'shutting down' };
    if (!this.isStarted) checks['startup'] = { ok: false, error: 'starting' };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const result = await Promise.race([
            Promise.resolve().then(check),
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
                this.timeoutMs,
              );
            }),
          ]);
          checks[name] = result === false ? { ok: false, error: 'not ready' } : { ok: true };
        } catch (err: unknown) {
          checks[name] = { ok: false, error: err instanceof Error ? err.message : String(err) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}
