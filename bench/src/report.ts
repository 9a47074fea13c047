import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultRow, machine } from './stats';

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : typeof v === 'string' ? v : '';

const check = (ok: boolean, what: string): string => `${ok ? 'meets' : 'MISSES'} ${what}`;

/** The targets, each checked on its own (docs/performance.md explains them). */
function verdict(r: ResultRow): string {
  if (r.scenario === 'append' && r.metric === 'events_per_s' && r.concurrency === 16)
    return [
      check(r.value >= 2000, '≥2000/s'),
      check((r.p99_ms ?? Infinity) <= 30, 'p99≤30 ms'),
      check((r.ratio ?? 0) >= 0.5, '≥0.5× raw'),
    ].join(', ');
  if (r.scenario === 'peer' && r.concurrency === 16)
    return check((r.ratio ?? 0) >= 1.5, '≥1.5× emmett');
  if (r.scenario === 'publish' && r.metric === 'events_per_s')
    return check((r.ratio ?? 0) >= 0.8, '≥0.8× raw');
  if (r.scenario === 'pipeline' && r.metric === 'orders_per_s') {
    const p99 = typeof r['p99_ms_at_50pct'] === 'number' ? r['p99_ms_at_50pct'] : Infinity;
    return [check(r.value >= 200, '≥200/s'), check(p99 <= 500, 'p99≤500 ms at 50 %')].join(', ');
  }
  if (r.scenario === 'memory') return check(r.value <= 200, '≤200 MB');
  return '';
}

export function writeResults(
  dir: string,
  m: ReturnType<typeof machine>,
  rows: ResultRow[],
  started: Date,
  notes: string[],
  load: { start: number[]; end: number[] },
): void {
  mkdirSync(dir, { recursive: true });
  const json = {
    machine: m,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    results: rows,
    notes,
  };
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  const lines = [
    `# Benchmark results`,
    '',
    `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}; load generator, services, PostgreSQL (fsync on) and nats-server on the same machine.`,
    `Run ${started.toISOString()}; load average (1, 5, 15 min) ${load.start.map((x) => x.toFixed(1)).join(' ')} at the start, ${load.end.map((x) => x.toFixed(1)).join(' ')} at the end (other work on the machine shows here).`,
    'See docs/performance.md for what each figure means.',
    '',
    '| scenario | metric | concurrency / service | value | baseline | ratio | p50 ms | p99 ms | baseline p50 / p99 ms | target |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const who =
      r.service ??
      (r.concurrency !== undefined
        ? `c=${r.concurrency}`
        : r['pct_of_max'] !== undefined
          ? `${fmt(r['pct_of_max'])}% (${fmt(r['offered_per_s'])}/s offered)`
          : '');
    const p99 = r.p99_ms ?? r['p99_ms_at_50pct'];
    const p50 = r.p50_ms ?? r['p50_ms_at_50pct'];
    const base = r.baseline !== undefined ? `${r.baseline} (${fmt(r.baseline_name)})` : '';
    const bl =
      r.baseline_p50_ms !== undefined
        ? `${fmt(r.baseline_p50_ms)} / ${fmt(r.baseline_p99_ms)}`
        : '';
    lines.push(
      `| ${r.scenario} | ${r.metric} | ${who} | ${r.value} | ${base} | ${fmt(r.ratio)} | ${fmt(p50)} | ${fmt(p99)} | ${bl} | ${verdict(r)} |`,
    );
  }
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  writeFileSync(join(dir, 'latest.md'), lines.join('\n') + '\n');
}
