import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import {
  Readiness,
  createLogger,
  createMetricsRegistry,
  encodeEnvelope,
  startEventConsumer,
  subjects,
  type EventConsumer,
} from '../src';

let nats: NatsServer;
let bus: EventConsumer | undefined;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await bus?.stop();
  await nats.stop();
});

test('when the runtime lowers maxDeliver, then a failing message is dead-lettered after that many deliveries', async () => {
  let maxDeliver = 50;
  const deliveries: number[] = [];
  const readiness = new Readiness();
  bus = await startEventConsumer({
    config: {
      NATS_URL: nats.url,
      NATS_STREAM: 'ORDERS',
      CONSUMER_CONCURRENCY: 2,
      CONSUMER_MAX_DELIVER: 50,
      CONSUMER_ACK_WAIT_MS: 5_000,
    },
    service: 'test',
    durable: 'flaky',
    readiness,
    maxDeliver: () => maxDeliver,
    eventTypes: ['thing-happened'],
    handle: (_e, { deliveryCount }) => {
      deliveries.push(deliveryCount);
      return Promise.reject(new Error('handler keeps failing'));
    },
    logger: createLogger('test', 'silent'),
    registry: createMetricsRegistry('test'),
  });
  readiness.started();
  maxDeliver = 3; // as a runtime config change would
  const js = jetstream(bus.nc);
  const eventId = randomUUID();
  await js.publish(
    subjects.event('thing-happened'),
    encodeEnvelope({
      eventId,
      eventType: 'thing-happened',
      streamId: 's-1',
      version: 0,
      metadata: {},
      createdAt: '',
      data: '{}',
    }),
    { msgID: eventId },
  );
  await waitFor(
    'the dead letter',
    async () => {
      const info = await bus!.jsm.streams.info('ORDERS_DLQ');
      return info.state.messages === 1;
    },
    { timeoutMs: 30_000 },
  );
  expect(deliveries).toEqual([1, 2, 3]);
  await waitFor('readiness', async () => (await readiness.report()).ready);
  expect(Object.keys((await readiness.report()).checks).sort()).toEqual(['consumer', 'nats']);
});
