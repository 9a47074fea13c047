import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { freePort, waitFor } from '@orderflow/testkit';

export const ROOT = join(__dirname, '..', '..');
export const DASHBOARDS_DIR = join(ROOT, 'charts', 'orderflow', 'dashboards');
export const RULES_DIR = join(ROOT, 'charts', 'orderflow', 'rules');
export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

// ---------------------------------------------------------------- dashboards and rules

export interface Panel {
  title?: string;
  type?: string;
  datasource?: unknown;
  targets?: { expr?: string; refId?: string; datasource?: unknown }[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: unknown; datasource?: unknown }[] };
  panels: Panel[];
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({
      file,
      dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard,
    }));
}

/** Every panel, rows' nested panels included. */
export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export function loadRuleFiles(): { file: string; groups: { name: string; rules: Rule[] }[] }[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((file) => ({
      file,
      ...(parseYaml(readFileSync(join(RULES_DIR, file), 'utf8')) as {
        groups: { name: string; rules: Rule[] }[];
      }),
    }));
}

/** Every PromQL expression of the dashboards and rules, with where it comes from. */
export function allExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const { file, dashboard } of loadDashboards()) {
    for (const p of allPanels(dashboard.panels))
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ where: `${file}: ${p.title ?? '?'}`, expr: t.expr });
    for (const v of dashboard.templating.list) {
      const q =
        typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
      if (v.type === 'query' && q) out.push({ where: `${file}: variable ${v.name}`, expr: q });
    }
  }
  for (const { file, groups } of loadRuleFiles())
    for (const g of groups)
      for (const r of g.rules)
        out.push({ where: `${file}: ${r.alert ?? r.record ?? '?'}`, expr: r.expr });
  return out;
}

/**
 * The services' series names an expression reads: `orderflow_*`, and Node's default metrics under
 * their standard names (`process_*`, `nodejs_*`). Label names never start with these.
 */
export function metricNamesIn(expr: string): string[] {
  return [
    ...new Set(
      [...expr.matchAll(/\b((?:orderflow|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]!),
    ),
  ];
}

/** Series names a Prometheus text exposition defines: histogram and summary parts resolve to their family. */
export function seriesNamesOf(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

// ---------------------------------------------------------------- Prometheus

export interface PrometheusUnderTest {
  url: string;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/** A real Prometheus on 127.0.0.1 scraping the given ops endpoints every second. */
export async function startPrometheus(
  targets: Record<string, string>,
): Promise<PrometheusUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(targets, '1s'));
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'prometheus ready',
    async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true,
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? res.status}`);
      return body.data.result;
    },
    async stop() {
      if (child.exitCode === null)
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The scrape configuration `make observe` writes too: one static target per ops endpoint with a
 * `service` target label, like a ServiceMonitor's (the services' own `service` label then becomes
 * `exported_service`, in both places).
 */
export function prometheusConfig(targets: Record<string, string>, interval = '5s'): string {
  const bySvc = new Map<string, string[]>();
  for (const [name, http] of Object.entries(targets)) {
    const svc = name.replace(/-\d+$/, '');
    bySvc.set(svc, [...(bySvc.get(svc) ?? []), new URL(http).host]);
  }
  const statics = [...bySvc]
    .map(
      ([svc, hosts]) =>
        `      - targets: [${hosts.map((h) => `'${h}'`).join(', ')}]\n        labels: { service: '${svc}' }`,
    )
    .join('\n');
  return `global:\n  scrape_interval: ${interval}\n  evaluation_interval: ${interval}\nscrape_configs:\n  - job_name: orderflow\n    static_configs:\n${statics}\n`;
}

// ---------------------------------------------------------------- OTLP/HTTP receiver

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttr {
  key: string;
  value: OtlpValue;
}
const valueOf = (v: OtlpValue): string | number | boolean | undefined =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.boolValue ??
  v.doubleValue;
const attrs = (list: OtlpAttr[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** A node:http server that accepts OTLP/HTTP JSON trace exports (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`). */
export async function startOtlpReceiver(): Promise<{
  endpoint: string;
  spans: ReceivedSpan[];
  stop(): Promise<void>;
}> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans?: {
              resource?: { attributes?: OtlpAttr[] };
              scopeSpans?: {
                spans?: {
                  traceId: string;
                  spanId: string;
                  parentSpanId?: string;
                  name: string;
                  kind: number;
                  attributes?: OtlpAttr[];
                }[];
              }[];
            }[];
          };
          for (const rs of body.resourceSpans ?? []) {
            const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '?');
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? [])
                spans.push({
                  service,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId ?? '',
                  name: s.name,
                  kind: s.kind,
                  attributes: attrs(s.attributes),
                });
          }
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
