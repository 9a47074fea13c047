import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { createEventStoreClient } from '@orderflow/platform';
import { freePort, freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import { newEvent } from './harness';

// Runs the built event store (services/eventstore/dist) as a real process, so that it can be
// killed with SIGKILL between the commit and the publish: the crashing one through the test seam
// of `start` (`afterCommit`), never through anything in the production start-up.
const dist = join(__dirname, '..', 'dist');
const main = join(dist, 'main.js');
const crashAfterCommit = `
const { loadConfig, createLogger } = require('@orderflow/platform');
const { start } = require(${JSON.stringify(join(dist, 'app.js'))});
const { configSchema } = require(${JSON.stringify(join(dist, 'config.js'))});
const config = loadConfig(configSchema);
start(config, createLogger('eventstore', config.LOG_LEVEL), {
  afterCommit: () => process.kill(process.pid, 'SIGKILL'),
});
`;

let nats: NatsServer;
let databaseUrl: string;
let grpcPort: number;
const children: ChildProcess[] = [];

function startProcess(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NATS_URL: nats.url,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      LOG_LEVEL: 'warn',
      RELAY_INTERVAL_MS: '100',
      RELAY_GRACE_MS: '100',
    },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  nats = await startNats();
  databaseUrl = await freshDatabase('crash');
  grpcPort = await freePort();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await nats.stop();
});

test('when the process is killed after commit and before publish, then on restart the relay publishes the event exactly once', async () => {
  const crashing = startProcess(['-e', crashAfterCommit]);
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    crashing.once('exit', (_c, s) => resolve(s)),
  );
  const { client, close } = createEventStoreClient(`127.0.0.1:${grpcPort}`);
  const streamId = `order-${randomUUID()}`;
  const event = newEvent('order-created', { crash: true });
  try {
    await waitFor(
      'event store to accept appends',
      async () => {
        await client.readStream({ streamId: 'probe', fromVersion: 0, maxCount: 1 });
        return true;
      },
      { timeoutMs: 30_000 },
    );
    await expect(
      client.appendToStream({ streamId, expectedVersion: -1, events: [event] }),
    ).rejects.toThrow();
    expect(await exited).toBe('SIGKILL');
  } finally {
    close();
  }

  // The event committed, and nothing published it.
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const stored = await db.query('SELECT version FROM events WHERE event_id = $1', [event.eventId]);
  expect(stored.rows).toEqual([{ version: 0 }]);
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const countInStream = async (): Promise<number> => {
    const info = await jsm.streams.info('ORDERS');
    let n = 0;
    for (
      let seq = info.state.first_seq;
      seq <= info.state.last_seq && info.state.messages > 0;
      seq++
    ) {
      const m = await jsm.streams.getMessage('ORDERS', { seq }).catch(() => undefined);
      if (m?.header.get('Nats-Msg-Id') === event.eventId) n++;
    }
    return n;
  };
  expect(await countInStream()).toBe(0);

  // Restart normally: the relay finds the outbox row and publishes it.
  startProcess([main]);
  await waitFor(
    'the relay to publish the committed event',
    async () => (await countInStream()) === 1,
    { timeoutMs: 30_000 },
  );
  await waitFor('the outbox to be empty', async () => {
    const r = await db.query('SELECT count(*)::INT AS n FROM outbox');
    return r.rows[0].n === 0;
  });
  // A second relay pass (or a re-publish) would be deduplicated: still exactly one copy.
  await new Promise((r) => setTimeout(r, 500));
  expect(await countInStream()).toBe(1);
  await nc.close();
  await db.end();
});
