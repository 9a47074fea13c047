import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface ResultRow {
  scenario: 'append' | 'peer' | 'publish' | 'pipeline' | 'rebuild' | 'memory';
  metric: string;
  value: number;
  concurrency?: number;
  baseline?: number;
  baseline_name?: string;
  ratio?: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
  baseline_p50_ms?: number;
  baseline_p99_ms?: number;
  service?: string;
  note?: string;
  [extra: string]: unknown;
}

export const machine = (): { cores: number; memoryGiB: number; node: string; cpu: string } => ({
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
});

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarise(
  latencies: number[],
  ops: number,
  errors: number,
  seconds: number,
): LoadResult {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    ops,
    errors,
    seconds,
    perSecond: ops / seconds,
    p50: round(percentile(sorted, 50), 2),
    p99: round(percentile(sorted, 99), 2),
    max: round(sorted[sorted.length - 1] ?? NaN, 2),
  };
}

/**
 * A closed loop: `concurrency` workers each run `op` back to back until the time is up. Latency
 * is measured per call; errors are counted (and the first one kept) but not timed.
 */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  op: (seq: number) => Promise<unknown>,
): Promise<LoadResult & { firstError?: unknown }> {
  const latencies: number[] = [];
  let seq = 0;
  let ops = 0;
  let errors = 0;
  let firstError: unknown;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await op(seq++);
        latencies.push(performance.now() - t0);
        ops++;
      } catch (err: unknown) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { ...summarise(latencies, ops, errors, seconds), firstError };
}

/** A warm-up (discarded) and then the measured run. */
export async function measure(
  concurrency: number,
  op: (seq: number) => Promise<unknown>,
  opts: { warmupMs: number; durationMs: number },
): Promise<LoadResult> {
  await closedLoop(concurrency, opts.warmupMs, op);
  const r = await closedLoop(concurrency, opts.durationMs, op);
  if (r.errors > 0) {
    const e = r.firstError;
    throw new Error(
      `${r.errors} of ${r.ops + r.errors} operations failed; first: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return r;
}

export const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

/**
 * Measures every side `rounds` times in turn (A B C, A B C, ...), each round with its own warm-up,
 * and gives each side the mean of its rounds (rate and percentiles). Drift during a scenario (a
 * fresh database creating WAL segments, other work on a shared machine) then weighs on every side
 * alike instead of on whichever ran first.
 */
export async function measureAlternating<K extends string>(
  concurrency: number,
  sides: Record<K, (seq: number) => Promise<unknown>>,
  opts: { warmupMs: number; durationMs: number },
  rounds = 2,
): Promise<Record<K, LoadResult>> {
  const names = Object.keys(sides) as K[];
  const runs = new Map<K, LoadResult[]>(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++)
    for (const k of names) runs.get(k)!.push(await measure(concurrency, sides[k], opts));
  const mean = (xs: LoadResult[], f: (x: LoadResult) => number) =>
    xs.reduce((a, x) => a + f(x), 0) / xs.length;
  return Object.fromEntries(
    names.map((k) => {
      const xs = runs.get(k)!;
      return [
        k,
        {
          ops: xs.reduce((a, x) => a + x.ops, 0),
          errors: xs.reduce((a, x) => a + x.errors, 0),
          seconds: xs.reduce((a, x) => a + x.seconds, 0),
          perSecond: mean(xs, (x) => x.perSecond),
          p50: round(
            mean(xs, (x) => x.p50),
            2,
          ),
          p99: round(
            mean(xs, (x) => x.p99),
            2,
          ),
          max: Math.max(...xs.map((x) => x.max)),
        },
      ];
    }),
  ) as Record<K, LoadResult>;
}
