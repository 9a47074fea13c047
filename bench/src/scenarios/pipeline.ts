import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { createPool, ensureDatabase, withDatabase, type Pool } from '@orderflow/platform';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort } from '@orderflow/testkit';
import {
  cpuMs,
  cpuMsByName,
  exited,
  peakRssMiB,
  profileArgs,
  repoRoot,
  spawnService,
} from '../procs';
import { log, percentile, round, type ResultRow } from '../stats';
import type { Infra } from './append';

const FINAL = ['Approved', 'Cancelled'];
const POLL_MS = 50;

// Items by code and quantity: the order API prices them from the menu.
const body = (): string =>
  JSON.stringify({
    customerId: `bench-${randomUUID()}`,
    restaurantId: 'trattoria',
    items: [
      { code: 'margherita', quantity: 2 },
      { code: 'tiramisu', quantity: 1 },
    ],
  });

interface Step {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  httpErrors: number;
  finished: number;
  /** Orders still not final when sending stopped. */
  backlogAtEnd: number;
  /** Orders not final when the drain period ended. */
  unfinished: number;
  completedPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  approved: number;
  cancelled: number;
}

/** POSTs one order; resolves with its id (from the Location header) or undefined on an error. */
function post(api: URL, agent: Agent): Promise<string | undefined> {
  return new Promise((resolve) => {
    const payload = body();
    const req = request(
      {
        host: api.hostname,
        port: api.port,
        path: '/api/orders',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          if (res.statusCode !== 201) return resolve(undefined);
          try {
            const j = JSON.parse(text) as { orderId?: string; id?: string };
            resolve(j.orderId ?? j.id ?? res.headers.location?.split('/').pop());
          } catch {
            resolve(res.headers.location?.split('/').pop());
          }
        });
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(payload);
  });
}

/**
 * Open loop: orders go out at `rate` per second for `seconds` whatever the answers; latency runs
 * from the moment an order was due to be sent to the first poll of the read model (orderflow_query.orders)
 * that shows it Approved or Cancelled (resolution POLL_MS).
 */
async function runStep(
  api: URL,
  query: Pool,
  rate: number,
  seconds: number,
  drainSeconds: number,
): Promise<Step> {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const sentAt = new Map<string, number>(); // order id -> scheduled send time
  const done = new Map<string, { at: number; status: string }>();
  let sent = 0;
  let httpErrors = 0;
  const posts: Promise<void>[] = [];
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const pending = [...sentAt.keys()].filter((id) => !done.has(id));
      if (pending.length > 0) {
        const r = await query.query<{ order_id: string; status: string }>(
          'SELECT order_id, status FROM orders WHERE order_id = ANY($1::UUID[]) AND status = ANY($2::TEXT[])',
          [pending, FINAL],
        );
        const now = performance.now();
        for (const row of r.rows) done.set(row.order_id, { at: now, status: row.status });
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  })();
  // Send on a 10 ms tick whatever is due by now.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const scheduled = t0 + (sent / rate) * 1000;
      posts.push(
        post(api, agent).then((id) => {
          if (id) sentAt.set(id, scheduled);
          else httpErrors++;
        }),
      );
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  const sendEnd = performance.now();
  await Promise.all(posts);
  const backlogAtEnd = [...sentAt.keys()].filter((id) => !done.has(id)).length;
  const drainDeadline = performance.now() + drainSeconds * 1000;
  while (performance.now() < drainDeadline && [...sentAt.keys()].some((id) => !done.has(id)))
    await new Promise((res) => setTimeout(res, POLL_MS));
  polling = false;
  await poller;
  agent.destroy();

  const latencies: number[] = [];
  let lastDone = t0;
  let approved = 0;
  for (const [id, at] of sentAt) {
    const d = done.get(id);
    if (!d) continue;
    latencies.push(d.at - at);
    lastDone = Math.max(lastDone, d.at);
    if (d.status === 'Approved') approved++;
  }
  latencies.sort((a, b) => a - b);
  const finished = latencies.length;
  return {
    rate,
    seconds: round((sendEnd - t0) / 1000, 2),
    sent,
    accepted: sentAt.size,
    httpErrors,
    finished,
    backlogAtEnd,
    unfinished: sentAt.size - finished,
    completedPerSecond: round(finished / ((lastDone - t0) / 1000), 1),
    p50: round(percentile(latencies, 50), 1),
    p99: round(percentile(latencies, 99), 1),
    max: round(latencies[latencies.length - 1] ?? NaN, 1),
    approved,
    cancelled: finished - approved,
  };
}

/** A rate is sustained when every order was accepted, every one finished, and the backlog did not grow. */
const sustained = (s: Step): boolean =>
  s.httpErrors === 0 &&
  s.unfinished === 0 &&
  s.backlogAtEnd <= Math.max(20, s.rate * 1.0) &&
  s.p99 < 2_000;

const describe = (s: Step): string =>
  `rate ${s.rate}/s: sent ${s.sent} (${s.httpErrors} HTTP errors), finished ${s.finished} at ${s.completedPerSecond}/s, ` +
  `backlog at end ${s.backlogAtEnd}, unfinished ${s.unfinished}, p50 ${s.p50} ms p99 ${s.p99} ms max ${s.max} ms ` +
  `(${s.approved} approved, ${s.cancelled} cancelled)`;

export interface PipelineOptions {
  stepSeconds: number;
  drainSeconds: number;
  startRate: number;
  maxRate: number;
  /** A probe instead of the search: one step at this rate with the CPU breakdown (nothing recorded). */
  fixedRate?: number;
}

/**
 * pipeline + memory + rebuild: the whole system as separate processes (startSystem), driven at
 * open-loop rates; then the peak RSS of every process, then a rebuild of the read model from
 * the event store into a fresh database.
 */
export async function pipelineScenario(infra: Infra, opts: PipelineOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const system: RunningSystem = await startSystem({
    root: repoRoot,
    runDir: join(infra.logDir, 'system'),
    postgresUrl: infra.adminUrl,
    natsUrl: infra.natsUrl,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
    // One load generator on one address places every order: the per-client limit would stop it.
    serviceEnv: { 'order-api': { RATE_LIMIT_MAX: '0' } },
    nodeArgs: profileArgs(infra.logDir),
    onEvent: (name, message) => log(`system: ${name}: ${message}`),
  });
  const query = createPool(system.databaseUrl('order-query-worker'), 4);
  const api = new URL(system.endpoints.api);
  try {
    log(`pipeline: services ${system.processes.map((p) => p.spec.name).join(', ')}`);
    for (const svc of ['order-api', 'payment', 'restaurant', 'saga', 'order-query-worker'])
      if (!system.processes.some((p) => p.spec.service === svc))
        throw new Error(`${svc} is not built; the pipeline needs every service`);

    /** One step; with `breakdown`, the CPU ms of every process and the transactions of every database per finished order. */
    const measuredStep = async (rate: number, breakdown: boolean) => {
      const before = cpuSnapshot(system);
      const dbBefore = breakdown ? await dbSnapshot(query) : undefined;
      const step = await runStep(api, query, rate, opts.stepSeconds, opts.drainSeconds);
      if (!breakdown) return { step, cpuPerOrder: undefined, dbPerOrder: undefined };
      const after = cpuSnapshot(system);
      const dbAfter = await dbSnapshot(query);
      const cpuPerOrder = Object.fromEntries(
        [...after].map(([k, v]) => [k, round((v - (before.get(k) ?? 0)) / step.finished, 2)]),
      );
      const dbPerOrder = Object.fromEntries(
        [...dbAfter].map(([db, v]) => [
          db,
          round((v - (dbBefore?.get(db) ?? 0)) / step.finished, 1),
        ]),
      );
      const total = round(
        Object.values(cpuPerOrder).reduce((a, b) => a + b, 0),
        2,
      );
      log(
        `pipeline ${rate}/s: CPU ms per finished order (total ${total}): ${Object.entries(
          cpuPerOrder,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      log(
        `pipeline ${rate}/s: database transactions per finished order: ${JSON.stringify(dbPerOrder)}`,
      );
      return { step, cpuPerOrder, dbPerOrder };
    };

    log('pipeline: warm-up');
    log(`pipeline: warm-up ${describe(await runStep(api, query, 30, 5, 10))}`);
    log(`pipeline: warm-up ${describe(await runStep(api, query, 60, 5, 10))}`);
    if (opts.fixedRate) {
      // A probe: one step at the given rate with its CPU and database breakdown, no search.
      log(`pipeline probe: ${describe((await measuredStep(opts.fixedRate, true)).step)}`);
      return rows;
    }

    // Search upward until the backlog grows.
    let best: Step | undefined;
    let failed: number | undefined;
    for (let rate = opts.startRate; rate <= opts.maxRate; rate = Math.round(rate * 1.5)) {
      const s = await runStep(api, query, rate, opts.stepSeconds, opts.drainSeconds);
      log(`pipeline search: ${describe(s)} -> ${sustained(s) ? 'sustained' : 'NOT sustained'}`);
      if (!sustained(s)) {
        failed = rate;
        break;
      }
      best = s;
    }
    if (best && failed) {
      const mid = Math.round((best.rate + failed) / 2);
      if (mid > best.rate && mid < failed) {
        const s = await runStep(api, query, mid, opts.stepSeconds, opts.drainSeconds);
        log(`pipeline search: ${describe(s)} -> ${sustained(s) ? 'sustained' : 'NOT sustained'}`);
        if (sustained(s)) best = s;
      }
    }
    const max = best?.rate ?? 0;
    log(`pipeline: highest sustained rate ${max} orders/s`);
    const steps: Step[] = [];
    let cpuPerOrder: Record<string, number> | undefined;
    let dbPerOrder: Record<string, number> | undefined;
    for (const pct of [25, 50, 100]) {
      const rate = Math.max(1, Math.round((max * pct) / 100));
      if (max === 0) continue;
      const m = await measuredStep(rate, pct === 100);
      const s = m.step;
      if (pct === 100) ({ cpuPerOrder, dbPerOrder } = m);
      log(`pipeline ${pct}%: ${describe(s)}`);
      steps.push(s);
      rows.push({
        scenario: 'pipeline',
        metric: 'orders_per_s_at_step',
        value: s.completedPerSecond,
        offered_per_s: rate,
        pct_of_max: pct,
        p50_ms: s.p50,
        p99_ms: s.p99,
        max_ms: s.max,
        unfinished: s.unfinished,
        http_errors: s.httpErrors,
      });
    }
    rows.unshift({
      scenario: 'pipeline',
      metric: 'orders_per_s',
      value: max,
      p99_ms_at_50pct: steps[1]?.p99,
      p50_ms_at_50pct: steps[1]?.p50,
      p99_ms_at_100pct: steps[2]?.p99,
      cpu_ms_per_order_at_100pct: cpuPerOrder,
      db_transactions_per_order_at_100pct: dbPerOrder,
      note: 'highest open-loop rate at which every order reached Approved/Cancelled and the backlog stayed flat',
    });

    // memory: peak RSS (VmHWM) of every process over the whole pipeline run.
    for (const p of system.processes) {
      const mib = p.pid ? peakRssMiB(p.pid) : undefined;
      if (mib === undefined) continue;
      rows.push({
        scenario: 'memory',
        metric: 'rss_mb',
        service: p.spec.name,
        value: round(mib, 1),
        ...(p.restarts ? { restarts: p.restarts } : {}),
      });
      log(
        `memory: ${p.spec.name} peak RSS ${round(mib, 1)} MiB${p.restarts ? ` (restarted ${p.restarts}x)` : ''}`,
      );
    }

    rows.push(...(await rebuildScenario(infra, system)));
  } finally {
    await query.end();
    await system.stop();
  }
  return rows;
}

/** Transactions committed so far in each orderflow database (pg_stat_database; autocommit statements count one each). */
async function dbSnapshot(pool: Pool): Promise<Map<string, number>> {
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const r = await pool.query<{ datname: string; n: number }>(
    "SELECT datname, xact_commit::INT8 AS n FROM pg_stat_database WHERE datname LIKE 'orderflow_%'",
  );
  return new Map(r.rows.map((row) => [row.datname, Number(row.n)]));
}

/** CPU ms used so far by each service process, the bench itself, PostgreSQL and nats-server. */
function cpuSnapshot(system: RunningSystem): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of system.processes) if (p.pid) m.set(p.spec.name, cpuMs(p.pid) ?? 0);
  m.set('bench', cpuMs(process.pid) ?? 0);
  m.set('postgres', cpuMsByName('postgres'));
  m.set('nats-server', cpuMsByName('nats-server'));
  return m;
}

/** rebuild: `order-query-worker rebuild` (ReadAll from the running event store) into a fresh database. */
async function rebuildScenario(infra: Infra, system: RunningSystem): Promise<ResultRow[]> {
  const es = createPool(system.databaseUrl('eventstore'), 2);
  const n = Number(
    (await es.query<{ n: number }>('SELECT count(*)::INT8 AS n FROM events')).rows[0]?.n ?? 0,
  );
  await es.end();
  await ensureDatabase(infra.adminUrl, 'bench_rebuild');
  const t0 = performance.now();
  const child = spawnService(
    'order-query-worker',
    {
      DATABASE_URL: withDatabase(infra.adminUrl, 'bench_rebuild'),
      EVENTSTORE_ADDRESS: system.endpoints.services['eventstore']?.grpc ?? '',
      NATS_URL: infra.natsUrl,
      OPS_PORT: '0',
      LOG_LEVEL: 'info',
    },
    infra.logDir,
    ['rebuild', '--truncate'],
  );
  const code = await exited(child);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`rebuild exited with code ${code}; see ${infra.logDir}`);
  const rate = n / seconds;
  log(
    `rebuild: ${n} events in ${round(seconds, 2)} s = ${Math.round(rate)} events/s (process start to exit)`,
  );
  return [
    {
      scenario: 'rebuild',
      metric: 'events_per_s',
      value: Math.round(rate),
      events: n,
      seconds: round(seconds, 2),
    },
  ];
}
