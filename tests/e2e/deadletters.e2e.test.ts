import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions } from '@orderflow/platform';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';

// `make deadletters` and `make redrive` as a user runs them after `make up`: against the running
// system's NATS, found through its endpoints.json (ORDERFLOW_RUN_DIR points make at this test's
// run folder instead of the repository's .run), not a NATS that happens to listen on 4222.
const ROOT = join(__dirname, '..', '..');
let system: RunningSystem;
let runDir: string;

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'orderflow-dlq-'));
  system = await startSystem({
    root: ROOT,
    runDir,
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 1,
    env: { LOG_LEVEL: 'warn' },
  });
}, 180_000);

afterAll(async () => {
  await system?.stop();
  rmSync(runDir, { recursive: true, force: true });
});

function make(...args: string[]): { status: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, ORDERFLOW_RUN_DIR: runDir };
  delete env['NATS_URL'];
  const r = spawnSync('make', ['--no-print-directory', ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('when a poison message was dead-lettered, then make deadletters lists it and make redrive sends it back', async () => {
  // endpoints.json's NATS URL carries the admin user (the local tools' credentials).
  const nc = await connect(natsConnectOptions(system.endpoints.nats));
  try {
    await jetstream(nc).publish('orderflow.events.order-created', '{not json', {
      msgID: `poison-${Date.now()}`,
    });
  } finally {
    await nc.close();
  }
  const listed = await waitFor(
    'the dead letter',
    () => {
      const r = make('deadletters', 'CONSUMER=payment');
      return r.status === 0 && r.out.includes('message body is not JSON') ? r.out : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  const row = listed.split('\n').find((l) => l.includes('message body is not JSON'))!;
  expect(row).toMatch(/^\d+\s+payment\s+orderflow\.events\.order-created\s/);
  const seq = row.split(/\s+/)[0]!;

  const redriven = make('redrive', `SEQ=${seq}`);
  expect(redriven).toMatchObject({ status: 0 });
  expect(redriven.out).toMatch(
    new RegExp(
      `re-drove ORDERS_DLQ #${seq} to orderflow\\.events\\.order-created .*dead letter deleted`,
    ),
  );
  const after = make('deadletters', 'CONSUMER=payment');
  expect(after.out.split('\n').some((l) => l.startsWith(`${seq} `))).toBe(false);
});

test('when no system runs and no NATS_URL is given, then make deadletters says how to start one', () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ORDERFLOW_RUN_DIR: join(runDir, 'nothing-here'),
  };
  delete env['NATS_URL'];
  const r = spawnSync('make', ['--no-print-directory', 'deadletters'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/start the system with `make up`/);
});
