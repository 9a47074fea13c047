import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from '@orderflow/testkit';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { check, type CheckResult } from './checker';
import {
  chaosApiCatalog,
  placeOrder,
  planOrders,
  type AcceptedOrder,
  type PlannedOrder,
} from './workload';

export interface ChaosOptions {
  orders: number;
  /** Orders placed per second (open loop). */
  rate: number;
  /** Concurrent clients. */
  concurrency: number;
  /** Extra random SIGKILLs beyond one per kind of service. */
  extraKills: number;
  seed?: number;
  root?: string;
  log?: (msg: string) => void;
  /** Time allowed for every accepted order to reach a final state after the workload. */
  settleTimeoutMs?: number;
}

export interface ChaosReport extends CheckResult {
  planned: number;
  kills: Record<string, number>;
  restarts: number;
  natsRestarts: number;
  postgresRestarts: number;
  redeliveries: number;
  notAccepted: number;
  durationMs: number;
}

/** A small seeded generator (mulberry32), so that a failing run can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sums a counter over every process, carrying values across restarts (a restart resets a process's counters). */
class CounterWatch {
  private readonly last = new Map<string, number>();
  private carried = 0;
  constructor(
    private readonly system: RunningSystem,
    private readonly metric: string,
  ) {}
  async sample(): Promise<void> {
    await Promise.all(
      Object.entries(this.system.endpoints.services).map(async ([name, e]) => {
        try {
          const text = await (
            await fetch(`${e.http}/metrics`, { signal: AbortSignal.timeout(2_000) })
          ).text();
          const value = text
            .split('\n')
            .filter((l) => l.startsWith(this.metric))
            .reduce((sum, l) => sum + Number(l.split(' ').pop() ?? 0), 0);
          const prev = this.last.get(name) ?? 0;
          if (value < prev) this.carried += prev;
          this.last.set(name, value);
        } catch {
          /* the process is down right now */
        }
      }),
    );
  }
  get total(): number {
    return this.carried + [...this.last.values()].reduce((a, b) => a + b, 0);
  }
}

type Log = (m: string) => void;
type Fault =
  { at: number; kind: 'kill'; service: string } | { at: number; kind: 'nats' | 'postgres' };

/** The whole system on free ports, with the chaos run's settings and the order API's own menu. */
async function startChaosSystem(
  opts: ChaosOptions,
  runDir: string,
  log: Log,
): Promise<RunningSystem> {
  const root = resolve(opts.root ?? process.cwd());
  const apiCatalog = join(runDir, 'order-api-catalog.json');
  const catalog = JSON.parse(
    readFileSync(join(root, 'config', 'catalog.json'), 'utf8'),
  ) as Parameters<typeof chaosApiCatalog>[0];
  writeFileSync(apiCatalog, JSON.stringify(chaosApiCatalog(catalog)));
  return startSystem({
    root: opts.root,
    runDir,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 2,
    env: {
      LOG_LEVEL: 'warn',
      CONSUMER_ACK_WAIT_MS: '4000',
      RELAY_INTERVAL_MS: '500',
      RELAY_GRACE_MS: '1000',
    },
    serviceEnv: {
      saga: { PAYMENT_TIMEOUT_MS: '20000', RESTAURANT_TIMEOUT_MS: '25000' },
      // The workload comes from one address: no per-client limit; a menu the restaurant lacks parts of.
      'order-api': { RATE_LIMIT_MAX: '0', CATALOG_FILE: apiCatalog },
    },
    onEvent: (name, message) => log(`${name}: ${message}`),
  });
}

/** The workload: open loop at `rate`, at most `concurrency` in flight. */
async function runWorkload(system: RunningSystem, planned: PlannedOrder[], opts: ChaosOptions) {
  const accepted: AcceptedOrder[] = [];
  let notAccepted = 0;
  const queue: PlannedOrder[] = [...planned];
  const t0 = Date.now();
  let next = 0;
  const workers = Array.from({ length: opts.concurrency }, async () => {
    for (;;) {
      const order = queue.shift();
      if (!order) return;
      const due = t0 + (next++ * 1000) / opts.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const result = await placeOrder(system.endpoints.api, order, Date.now() + 120_000);
      if (result) accepted.push(result);
      else notAccepted++;
    }
  });
  await Promise.all(workers);
  return { accepted, notAccepted };
}

/**
 * The faults: one SIGKILL per kind of service, a NATS restart and a PostgreSQL restart, spread at
 * random over the workload window, plus extra random kills.
 */
function planFaults(
  kinds: string[],
  windowMs: number,
  extraKills: number,
  random: () => number,
): Fault[] {
  return [
    ...kinds.map((service): Fault => ({
      at: windowMs * (0.1 + 0.8 * random()),
      kind: 'kill',
      service,
    })),
    ...Array.from({ length: extraKills }, (): Fault => ({
      at: windowMs * (0.1 + 0.8 * random()),
      kind: 'kill',
      service: kinds[Math.floor(random() * kinds.length)]!,
    })),
    { at: windowMs * (0.25 + 0.2 * random()), kind: 'nats' as const },
    { at: windowMs * (0.55 + 0.2 * random()), kind: 'postgres' as const },
  ].sort((a, b) => a.at - b.at);
}

/**
 * SIGKILLs a running process of the service. One may be restarting right now (after an earlier
 * kill, or a PostgreSQL restart): wait for one to be running rather than skip the kill.
 */
async function killOne(system: RunningSystem, service: string, random: () => number, log: Log) {
  let victim: RunningSystem['processes'][number] | undefined;
  for (let waited = 0; !victim && waited < 15_000; waited += 100) {
    const candidates = system.processes.filter((p) => p.spec.service === service && p.running);
    victim = candidates[Math.floor(random() * candidates.length)];
    if (!victim) await sleep(100);
  }
  if (victim?.kill('SIGKILL')) log(`SIGKILL ${victim.spec.name}`);
  else log(`no running ${service} process to kill within 15 s`);
}

async function runFaults(system: RunningSystem, faults: Fault[], random: () => number, log: Log) {
  const restarts = { nats: 0, postgres: 0 };
  const t0 = Date.now();
  for (const f of faults) {
    const wait = t0 + f.at - Date.now();
    if (wait > 0) await sleep(wait);
    if (f.kind === 'kill') await killOne(system, f.service, random, log);
    else if (f.kind === 'nats' && system.nats) {
      log('restarting nats-server');
      await system.nats.restart();
      restarts.nats++;
    } else if (f.kind === 'postgres' && system.postgres) {
      log('restarting PostgreSQL (immediate shutdown)');
      await system.postgres.restart('immediate');
      restarts.postgres++;
    }
  }
  return restarts;
}

/** Settle: every accepted order reaches a final state; the outbox drains (each waited for, not required). */
async function settle(
  system: RunningSystem,
  accepted: AcceptedOrder[],
  opts: ChaosOptions,
  log: Log,
) {
  const query = new pg.Client({ connectionString: system.databaseUrl('order-query-worker') });
  const es = new pg.Client({ connectionString: system.databaseUrl('eventstore') });
  await Promise.all([query.connect(), es.connect()]);
  try {
    const ids = accepted.map((o) => o.orderId);
    let lastLog = 0;
    await waitFor(
      'every accepted order to reach a final state',
      async () => {
        const r = await query.query<{ n: number }>(
          "SELECT count(*)::INT AS n FROM orders WHERE order_id = ANY($1::UUID[]) AND status IN ('Approved', 'Cancelled')",
          [ids],
        );
        const done = r.rows[0]?.n ?? 0;
        if (Date.now() - lastLog > 5_000) {
          lastLog = Date.now();
          log(`${done}/${ids.length} orders final`);
        }
        return done === ids.length;
      },
      { timeoutMs: opts.settleTimeoutMs ?? 180_000, intervalMs: 500 },
    ).catch((err: unknown) => log(String(err)));
    await waitFor(
      'the outbox to drain',
      async () =>
        (await es.query<{ n: number }>('SELECT count(*)::INT AS n FROM outbox')).rows[0]?.n === 0,
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch((err: unknown) => log(String(err)));
  } finally {
    await Promise.all([query.end(), es.end()]);
  }
}

const checkSystem = (system: RunningSystem, accepted: AcceptedOrder[]) =>
  check({
    orders: accepted,
    databases: {
      eventstore: system.databaseUrl('eventstore'),
      payment: system.databaseUrl('payment'),
      query: system.databaseUrl('order-query-worker'),
    },
    natsUrl: system.endpoints.nats,
    stream: 'ORDERS',
  });

function killsOf(system: RunningSystem): Record<string, number> {
  const kills: Record<string, number> = {};
  for (const p of system.processes) kills[p.spec.service] = (kills[p.spec.service] ?? 0) + p.kills;
  return kills;
}

/**
 * Runs the whole system, places orders while killing processes and restarting NATS and
 * PostgreSQL, waits for every accepted order to settle, then checks every invariant.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`[chaos] ${m}\n`));
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seeded(seed);
  log(`seed ${seed}: ${opts.orders} orders at ${opts.rate}/s, ${opts.concurrency} clients`);
  const runDir = mkdtempSync(join(tmpdir(), 'orderflow-chaos-'));
  const started = Date.now();
  const system = await startChaosSystem(opts, runDir, log);
  const redeliveries = new CounterWatch(system, 'orderflow_consumer_redeliveries_total');
  const sampler = setInterval(() => void redeliveries.sample(), 1_000);
  try {
    // The seeded draws come in a fixed order (orders, then faults, then victims): a seed replays a run.
    const planned = planOrders(opts.orders, random);
    const workload = runWorkload(system, planned, opts);
    const kinds = [...new Set(system.processes.map((p) => p.spec.service))];
    const faults = planFaults(kinds, (opts.orders / opts.rate) * 1000, opts.extraKills, random);
    const [{ accepted, notAccepted }, restarts] = await Promise.all([
      workload,
      runFaults(system, faults, random, log),
    ]);
    log(
      `workload done: ${accepted.length} accepted, ${notAccepted} never accepted; waiting for final states`,
    );
    await settle(system, accepted, opts, log);
    await redeliveries.sample();
    const result = await checkSystem(system, accepted);
    return {
      ...result,
      planned: planned.length,
      kills: killsOf(system),
      restarts: system.processes.reduce((n, p) => n + p.restarts, 0),
      natsRestarts: restarts.nats,
      postgresRestarts: restarts.postgres,
      redeliveries: redeliveries.total,
      notAccepted,
      durationMs: Date.now() - started,
    };
  } finally {
    clearInterval(sampler);
    await system.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

export function formatReport(r: ChaosReport): string {
  const kills = Object.entries(r.kills)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return [
    `orders planned ${r.planned}, accepted ${r.counts['accepted'] ?? 0}, never accepted ${r.notAccepted}`,
    `final: approved ${r.counts['approved'] ?? 0}, cancelled ${r.counts['cancelled'] ?? 0} (refunded ${r.counts['refunded'] ?? 0})`,
    `kills: ${kills}; process restarts ${r.restarts}; nats restarts ${r.natsRestarts}; postgres restarts ${r.postgresRestarts}`,
    `redeliveries seen ${r.redeliveries}; dead letters ${r.counts['dead_letters'] ?? 0}; events ${r.counts['events'] ?? 0}; JetStream messages ${r.counts['jetstream_messages'] ?? 0}`,
    `duration ${(r.durationMs / 1000).toFixed(1)} s`,
    r.violations.length === 0
      ? 'no violations'
      : `${r.violations.length} violations:\n  ${r.violations.join('\n  ')}`,
  ].join('\n');
}
