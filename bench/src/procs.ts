import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@orderflow/testkit';

/** BENCH_CPU_PROF=1: node options that write a V8 CPU profile of every service process into `dir`. */
export const profileArgs = (dir: string): string[] =>
  process.env['BENCH_CPU_PROF'] === '1' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];

export const repoRoot = join(__dirname, '..', '..');

export interface Child {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Runs a built service (`services/<name>/dist/main.js`) as its own process, logging to a file. */
export function spawnService(
  service: string,
  env: Record<string, string>,
  logDir: string,
  args: string[] = [],
): Child {
  const log = createWriteStream(
    join(logDir, `${service}${args.length ? '-' + args.join('-') : ''}.log`),
    { flags: 'a' },
  );
  const prof = profileArgs(logDir);
  const proc = spawn(
    process.execPath,
    [...prof, join(repoRoot, 'services', service, 'dist', 'main.js'), ...args],
    {
      env: { ...process.env, LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  return {
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      });
      log.end();
    },
  };
}

export async function waitReady(opsUrl: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${opsUrl}/readyz`, async () => (await fetch(`${opsUrl}/readyz`)).ok, {
    timeoutMs,
    intervalMs: 200,
  });
}

/** Resolves when the process exits (code or signal). */
export const exited = (c: Child): Promise<number | null> =>
  new Promise((resolve) => {
    if (c.proc.exitCode !== null) resolve(c.proc.exitCode);
    else c.proc.once('exit', (code) => resolve(code));
  });

/** Peak resident set size (VmHWM) of a process, in MiB; undefined when it is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined when it is gone. */
/**
 * CPU ms used so far by a process (utime + stime, in clock ticks of 10 ms); with `reapedChildren`,
 * plus what its children that exited and were waited for used (cutime + cstime).
 */
export function cpuMs(pid: number, reapedChildren = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks =
      Number(f[11]) + Number(f[12]) + (reapedChildren ? Number(f[13]) + Number(f[14]) : 0);
    return (ticks * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU ms used so far by every process whose command name is `comm` (e.g. all PostgreSQL
 * processes), counting the children they reaped: a backend that exits between two snapshots (a
 * pool closing an idle connection) still counts, through its postmaster.
 */
export function cpuMsByName(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm)
        total += cpuMs(Number(pid), true) ?? 0;
    } catch {
      /* gone */
    }
  }
  return total;
}
