import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  PoisonMessageError,
  createLogger,
  createMetricsRegistry,
  encodeEnvelope,
  ensureStreams,
  jsManager,
  startConsumer,
  type Envelope,
  type RunningConsumer,
} from '@orderflow/platform';
import { startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import { run } from '../src/cli';

let nats: NatsServer;
let nc: NatsConnection;
let consumer: RunningConsumer;
let poisonous = true;
const seen: Envelope[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jsManager(nc);
  await ensureStreams(jsm, { name: 'ORDERS' });
  consumer = startConsumer({
    nc,
    jsm,
    stream: 'ORDERS',
    settings: { durable: 'tooltest' },
    concurrency: 2,
    maxDeliver: 3,
    eventTypes: ['order-approved'],
    // eslint-disable-next-line @typescript-eslint/require-await
    handle: async (e) => {
      if (poisonous) throw new PoisonMessageError('not today');
      seen.push(e);
      return 'handled';
    },
    logger: createLogger('test', 'silent'),
    registry: createMetricsRegistry('test'),
  });
  await waitFor('consumer subscribed', () => consumer.check().then(() => true));
}, 30_000);

afterAll(async () => {
  await consumer?.stop();
  await nc?.close();
  await nats?.stop();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { NATS_URL: nats.url },
  });
  return { code, out, err };
}

test('when a consumer dead-letters a message, then list shows it and redrive hands the same body and headers back to the consumer', async () => {
  const eventId = randomUUID();
  const streamId = `order-${randomUUID()}`;
  const body = encodeEnvelope({
    eventId,
    eventType: 'order-approved',
    streamId,
    version: 3,
    data: '{"k":1}',
    metadata: { correlation_id: 'c-9' },
    createdAt: new Date().toISOString(),
  });
  const h = natsHeaders();
  h.set('Orderflow-Event-Type', 'order-approved');
  h.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  await jetstream(nc).publish('orderflow.events.order-approved', body, {
    msgID: eventId,
    headers: h,
  });

  const listed = await waitFor('the dead letter', async () => {
    const r = await cli('list', '--json', '--consumer', 'tooltest');
    return r.out.length === 1 ? r : undefined;
  });
  expect(listed.code).toBe(0);
  const dl = JSON.parse(listed.out[0]!) as Record<string, unknown>;
  expect(dl).toMatchObject({
    consumer: 'tooltest',
    originalSubject: 'orderflow.events.order-approved',
    kind: 'poison',
    reason: 'not today',
    eventType: 'order-approved',
    eventId,
    streamId,
    deliveryCount: 1,
  });
  expect((await cli('list', '--consumer', 'someone-else')).out).toEqual([
    'no dead letters in ORDERS_DLQ for consumer someone-else',
  ]);
  const table = await cli('list');
  expect(table.out[0]).toMatch(/^SEQ\s+CONSUMER\s+SUBJECT/);
  expect(table.out[1]).toContain(eventId);

  poisonous = false;
  const redriven = await cli('redrive', String(dl['seq']));
  expect(redriven.code).toBe(0);
  expect(redriven.out[0]).toContain(`redrive:${eventId}:${String(dl['seq'])}`);
  const handled = await waitFor('the re-driven message to be handled', () =>
    seen.find((e) => e.eventId === eventId),
  );
  expect(handled).toMatchObject({
    streamId,
    version: 3,
    data: { k: 1 },
    metadata: { correlation_id: 'c-9' },
  });
  expect((await cli('list', '--json')).out).toEqual([]);

  const jsm = await jsManager(nc);
  const info = await jsm.streams.info('ORDERS');
  const copy = await jsm.streams.getMessage('ORDERS', { seq: info.state.last_seq });
  expect(copy!.header.get('Nats-Msg-Id')).toBe(`redrive:${eventId}:${String(dl['seq'])}`);
  expect(copy!.header.get('traceparent')).toBe(
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  );
  expect(copy!.header.get('Orderflow-Event-Type')).toBe('order-approved');
  expect([...copy!.header.keys()].some((k) => /dead/i.test(k))).toBe(false);
});

test('when redrive names a sequence that is not there, then it fails with exit code 1; bad arguments exit 2', async () => {
  expect((await cli('redrive', '999999')).code).toBe(1);
  expect((await cli('redrive', 'abc')).code).toBe(2);
  expect((await cli('list', '--bogus')).code).toBe(2);
  expect((await cli('--help')).code).toBe(0);
});
