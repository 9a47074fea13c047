import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ProcessSpec {
  /** Unique name, e.g. `order-query-worker-2`. */
  name: string;
  /** The service it runs, e.g. `order-query-worker`. */
  service: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile?: string;
}

/**
 * Keeps one process running the way a kubelet keeps a container running: when it exits it is
 * started again after a back-off that grows with quick successive crashes (capped at 5 s).
 */
export class Supervised {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private log: WriteStream | undefined;
  private startedAt = 0;
  private quickCrashes = 0;
  restarts = 0;
  kills = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly onEvent: (name: string, message: string) => void = () => undefined,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.spec.logFile && !this.log)
      this.log = createWriteStream(this.spec.logFile, { flags: 'a' });
    this.startedAt = Date.now();
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.pipe(this.log ?? process.stdout, { end: false });
    child.stderr?.pipe(this.log ?? process.stderr, { end: false });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.quickCrashes = Date.now() - this.startedAt < 10_000 ? this.quickCrashes + 1 : 0;
      const delay = Math.min(5_000, 100 * 2 ** this.quickCrashes);
      this.onEvent(
        this.spec.name,
        `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
      );
      this.restartTimer = setTimeout(() => {
        this.restarts++;
        this.start();
      }, delay);
    });
  }

  /** Sends a signal (the supervisor restarts the process unless it is stopping). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    if (!this.running) return false;
    this.kills++;
    return this.child?.kill(signal) ?? false;
  }

  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    this.log?.end();
  }
}
