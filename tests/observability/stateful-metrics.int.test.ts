import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, natsServerBinary, waitFor } from '@orderflow/testkit';
import { spawn } from 'node:child_process';
import { DASHBOARDS_DIR, RULES_DIR, allPanels, loadDashboards, loadRuleFiles } from './support';

/**
 * The NATS and CockroachDB dashboards and alerts use only series these systems really export: the
 * lists in fixtures/ are taken from prometheus-nats-exporter's source and CockroachDB's
 * documentation (each file says where from), with the labels each series carries. No exporter and
 * no CockroachDB run here, so the names are checked against those lists; the NATS /varz keys are
 * also checked against a real nats-server.
 */

const FIXTURES = join(__dirname, 'fixtures');
/** Labels Prometheus (and the Prometheus Operator's PodMonitor/ServiceMonitor) put on every target. */
const TARGET_LABELS = ['namespace', 'pod', 'instance', 'job', 'service', 'container', 'endpoint'];
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

function series(file: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of readFileSync(join(FIXTURES, file), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name = '', ...rest] = line.split(/\s+/);
    out.set(name, new Set(rest.filter((l) => /^[a-z_]+$/.test(l))));
  }
  return out;
}

/** The series names and label names a PromQL expression reads. */
export function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const m of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) labels.push(m[1]!);
    return '';
  });
  e = e.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_m, _k, inner: string) => {
      labels.push(
        ...inner
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      return ' ';
    },
  );
  e = e.replace(/\[[^\]]*\]/g, '').replace(/\$\{?\w+\}?/g, '');
  const metrics = [...e.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !KEYWORDS.has(n));
  return { metrics: [...new Set(metrics)], labels: [...new Set(labels)] };
}

/** What an expression reads that the list does not have: unknown series, or labels none of its series carry. */
function unknownIn(expr: string, known: Map<string, Set<string>>): string[] {
  const { metrics, labels } = promqlNames(expr);
  const problems = metrics.filter((m) => m !== 'up' && !known.has(m)).map((m) => `series ${m}`);
  const carried = new Set([
    ...TARGET_LABELS,
    ...metrics.flatMap((m) => [...(known.get(m) ?? [])]),
    ...(metrics.some((m) => m.endsWith('_bucket')) ? ['le'] : []),
  ]);
  problems.push(...labels.filter((l) => !carried.has(l)).map((l) => `label ${l}`));
  return problems;
}

const expressions = (dashboard: string, rules: string): { where: string; expr: string }[] => {
  const out: { where: string; expr: string }[] = [];
  for (const { file, dashboard: d } of loadDashboards().filter((x) => x.file === dashboard)) {
    for (const p of allPanels(d.panels))
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
    for (const v of d.templating.list) {
      const q =
        typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
      if (v.type === 'query' && q)
        out.push({
          where: `${file}: $${v.name}`,
          expr: q.replace(/^label_values\((.*),\s*(\w+)\)$/, 'by ($2) ($1)'),
        });
    }
  }
  for (const { file, groups } of loadRuleFiles().filter((x) => x.file === rules))
    for (const g of groups)
      for (const r of g.rules) out.push({ where: `${file}: ${r.alert ?? r.record}`, expr: r.expr });
  return out;
};

describe.each([
  ['NATS', 'nats-exporter-metrics.txt', 'nats-jetstream.json', 'nats.rules.yaml'],
  ['CockroachDB', 'cockroachdb-metrics.txt', 'cockroachdb.json', 'cockroachdb.rules.yaml'],
])('%s', (_system, list, dashboard, rules) => {
  const known = series(list);
  const exprs = expressions(dashboard, rules);

  test('when its dashboard and alerts are read, then every series and label they use is one the system exports', () => {
    expect(exprs.length).toBeGreaterThan(8);
    const problems = exprs.flatMap(({ where, expr }) =>
      unknownIn(expr, known).map((p) => `${where}: ${p}`),
    );
    expect(problems).toEqual([]);
  });
});

test('when an expression names a series or a label the exporter does not have, then the check says which', () => {
  const nats = series('nats-exporter-metrics.txt');
  // A plausible-looking name that does not exist, and a jsz label on a varz series (it has server_id only).
  expect(unknownIn('max by (stream_name) (jetstream_stream_bytes)', nats)).toEqual([
    'series jetstream_stream_bytes',
    'label stream_name',
  ]);
  expect(unknownIn('max by (server_name) (gnatsd_varz_connections)', nats)).toEqual([
    'label server_name',
  ]);
  expect(
    unknownIn(
      'histogram_quantile(0.99, sum by (le) (rate(sql_service_latency_bucket[5m])))',
      series('cockroachdb-metrics.txt'),
    ),
  ).toEqual([]);
});

test('when a real nats-server answers /varz, then each gnatsd_varz_ series of the list is one of its numeric fields', async () => {
  const port = await freePort();
  const monitor = await freePort();
  const child = spawn(
    natsServerBinary(),
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)],
    {
      stdio: 'ignore',
    },
  );
  try {
    const varz = await waitFor(
      'nats-server /varz',
      async () =>
        (await fetch(`http://127.0.0.1:${monitor}/varz`)).json() as Promise<
          Record<string, unknown>
        >,
      { timeoutMs: 20_000 },
    );
    const numeric = new Set(
      Object.entries(varz)
        .filter(([, v]) => typeof v === 'number')
        .map(([k]) => `gnatsd_varz_${k}`),
    );
    const listed = [...series('nats-exporter-metrics.txt').keys()].filter((n) =>
      n.startsWith('gnatsd_varz_'),
    );
    expect(listed.length).toBeGreaterThan(5);
    expect(listed.filter((n) => !numeric.has(n))).toEqual([]);
  } finally {
    child.kill();
  }
});

test('when the chart ships dashboards and rules for the stateful tier, then the files are where the chart picks them up', () => {
  for (const f of ['nats-jetstream.json', 'cockroachdb.json'])
    expect(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')).toContain('"uid": "orderflow-');
  for (const f of ['nats.rules.yaml', 'cockroachdb.rules.yaml'])
    expect(readFileSync(join(RULES_DIR, f), 'utf8')).toContain('groups:');
});
