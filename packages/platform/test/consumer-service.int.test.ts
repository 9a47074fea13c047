import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import {
  createLogger,
  encodeEnvelope,
  subjects,
  startConsumerService,
  type ConsumerServiceConfig,
} from '../src';

const migrationsDir = join(__dirname, 'fixtures', 'migrations');
const logger = createLogger('test', 'silent');
let nats: NatsServer;
let dir: string;

beforeAll(async () => {
  nats = await startNats();
  dir = await mkdtemp(join(tmpdir(), 'consumer-service-'));
});
afterAll(async () => {
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
});

async function config(over: Partial<ConsumerServiceConfig> = {}): Promise<ConsumerServiceConfig> {
  return {
    LOG_LEVEL: 'silent',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: await freePort(),
    DATABASE_URL: await freshDatabase('startup'),
    DATABASE_POOL_MAX: 2,
    MIGRATE_ON_START: true,
    NATS_URL: nats.url,
    NATS_STREAM: 'ORDERS',
    EVENTSTORE_ADDRESS: '127.0.0.1:1',
    CONSUMER_CONCURRENCY: 2,
    CONSUMER_MAX_DELIVER: 10,
    CONSUMER_ACK_WAIT_MS: 5_000,
    ...over,
  };
}

const reachable = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );

test('when the service set-up fails, then the start-up fails and closes what it opened', async () => {
  const c = await config();
  await expect(
    startConsumerService(
      { name: 'test', consumer: 'payment', config: c, logger, migrationsDir },
      () => {
        throw new Error('bad catalog');
      },
    ),
  ).rejects.toThrow('bad catalog');
  expect(await reachable(c.OPS_PORT)).toBe(false);
});

test('when the runtime config sets maxDeliver and the service stops, then failures dead-letter at that count and the stop runs in order', async () => {
  const runtimeFile = join(dir, `runtime-${randomUUID()}.json`);
  writeFileSync(runtimeFile, JSON.stringify({ consumers: { saga: { maxDeliver: 2 } }, saga: {} }));
  const c = await config({ RUNTIME_CONFIG_FILE: runtimeFile });
  const calls: string[] = [];
  const service = await startConsumerService(
    { name: 'test', consumer: 'saga', config: c, logger, migrationsDir },
    ({ pool }) => ({
      pool,
      handle: (_e, { deliveryCount }) => {
        calls.push(`handle ${deliveryCount}`);
        return Promise.reject(new Error('keeps failing'));
      },
      onRuntimeConfig: (cfg) => calls.push(`runtime ${JSON.stringify(cfg.saga)}`),
      beforeConsumerStop: () => void calls.push('before consumer stop'),
      afterConsumerStop: () => void calls.push('after consumer stop'),
    }),
  );
  await waitFor('the runtime config', () => Promise.resolve(calls.includes('runtime {}')));
  // The migrations ran on the service's own pool.
  await service.parts.pool.query('SELECT id FROM startup_probe');
  const ready = await fetch(`http://127.0.0.1:${service.opsPort}/readyz`);
  expect(((await ready.json()) as { checks: object }).checks).toHaveProperty('database');
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  const eventId = randomUUID();
  const body = encodeEnvelope({
    eventId,
    eventType: 'order-created',
    streamId: 's',
    version: 0,
    metadata: {},
    createdAt: '',
    data: '{}',
  });
  await js.publish(subjects.event('order-created'), body, { msgID: eventId });
  await waitFor(
    'the dead letter',
    async () => {
      const info = await (await jetstreamManager(nc)).streams.info('ORDERS_DLQ');
      return info.state.messages >= 1;
    },
    { timeoutMs: 30_000 },
  );
  expect(calls.filter((x) => x.startsWith('handle'))).toEqual(['handle 1', 'handle 2']);
  await nc.close();
  await service.stop();
  expect(calls.slice(-2)).toEqual(['before consumer stop', 'after consumer stop']);
  expect(await reachable(service.opsPort)).toBe(false);
}, 60_000);
