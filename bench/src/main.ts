import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, startPostgres, type NatsServer } from '@orderflow/testkit';
import { writeResults } from './report';
import { repoRoot } from './procs';
import { appendScenario, type Infra } from './scenarios/append';
import { peerScenario } from './scenarios/peer';
import { pipelineScenario } from './scenarios/pipeline';
import { publishScenario } from './scenarios/publish';
import { log, machine, type ResultRow } from './stats';

const HELP = `orderflow benchmarks (make bench)

usage: node bench/dist/main.js [--quick] [--rate=N] [scenario...]

  scenarios: append peer publish pipeline (pipeline also measures memory and rebuild); default all
  --quick    shorter runs (for trying things out; the committed results come from a full run)
  --rate=N   pipeline probe: one 10 s step at N orders/s with the CPU milliseconds of every process
             and the database transactions per order; writes no result files

Starts its own PostgreSQL (fsync on) and a nats-server per scenario; writes bench/results/latest.md
and bench/results/latest.json.`;

const ALL = ['append', 'peer', 'publish', 'pipeline'] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const quick = args.includes('--quick');
  const rateArg = args.find((a) => a.startsWith('--rate='));
  const fixedRate = rateArg ? Number(rateArg.slice('--rate='.length)) : undefined;
  if (fixedRate !== undefined && !(Number.isInteger(fixedRate) && fixedRate > 0))
    throw new Error(
      `--rate: expected a positive whole number of orders per second, got ${rateArg}`,
    );
  const chosen = args.filter((a) => !a.startsWith('--'));
  for (const c of chosen)
    if (!(ALL as readonly string[]).includes(c))
      throw new Error(`unknown scenario ${c}; see --help`);
  const scenarios = fixedRate ? ['pipeline'] : chosen.length ? chosen : [...ALL];
  const started = new Date();
  const loadStart = loadavg();
  const logDir = mkdtempSync(join(tmpdir(), 'orderflow-bench-'));
  mkdirSync(logDir, { recursive: true });
  log(`bench: ${scenarios.join(', ')}${quick ? ' (quick)' : ''}; logs in ${logDir}`);

  const pg = await startPostgres({ durable: true });
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  let nats: NatsServer | undefined;
  // Ctrl-C: leave no PostgreSQL or nats-server behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void (async () => {
        await nats?.stop().catch(() => undefined);
        await pg.stop('immediate').catch(() => undefined);
        process.exit(130);
      })();
    });
  try {
    const infraFor = async (): Promise<Infra> => {
      await nats?.stop();
      // A fresh nats-server per scenario: each event store creates the ORDERS stream, whose subjects must not overlap another's.
      nats = await startNats();
      return {
        adminUrl: pg.url,
        natsUrl: nats.url,
        logDir,
        warmupMs: quick ? 1000 : 2000,
        durationMs: quick ? 3000 : 6000,
      };
    };
    for (const s of scenarios) {
      const t0 = Date.now();
      if (s === 'append') rows.push(...(await appendScenario(await infraFor())));
      if (s === 'peer') rows.push(...(await peerScenario(await infraFor())));
      if (s === 'publish')
        rows.push(...(await publishScenario(await infraFor(), quick ? 10_000 : 20_000)));
      if (s === 'pipeline')
        rows.push(
          ...(await pipelineScenario(await infraFor(), {
            stepSeconds: quick ? 6 : 10,
            drainSeconds: 5,
            startRate: 50,
            maxRate: 2000,
            ...(fixedRate ? { fixedRate } : {}),
          })),
        );
      log(`bench: ${s} took ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    await nats?.stop();
    await pg.stop();
  }
  if (fixedRate) return; // a probe: nothing to record
  if (quick) notes.push('quick run (--quick): shorter measurement windows');
  writeResults(join(repoRoot, 'bench', 'results'), machine(), rows, started, notes, {
    start: loadStart,
    end: loadavg(),
  });
  log('bench: wrote bench/results/latest.md and latest.json');
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
