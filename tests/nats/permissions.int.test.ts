import { randomBytes, randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { PipelinedJetStream } from '@orderflow/eventstore';
import {
  NATS_DURABLES,
  NATS_USERS,
  Readiness,
  connectNats,
  createLogger,
  createMetricsRegistry,
  encodeEnvelope,
  ensureStreams,
  jsManager,
  natsAuthorizationConf,
  natsConnectOptions,
  natsUrlWithCredentials,
  redactNatsUrl,
  startEventConsumer,
  subjects,
  type EventConsumer,
  type NatsUser,
} from '@orderflow/platform';
import { startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import { createJetStreamAdapter } from '../../services/operator/src/adapters/jetstream';

/**
 * The NATS users and permissions of @orderflow/platform (natsPermissions), on a real nats-server
 * started with exactly the configuration `make up` uses (natsAuthorizationConf): each service can
 * do its job through the same code it runs in production (the event store's pipelined publisher,
 * the platform's consumer loop with its dead-lettering, the operator's JetStream adapter), and
 * nothing else: payment cannot publish an order event, delete or purge the stream, or pull or ack
 * another service's messages.
 */

const STREAM = 'ORDERS';
const logger = createLogger('nats-permissions', process.env['TEST_LOG_LEVEL'] ?? 'silent');
const passwords = Object.fromEntries(
  NATS_USERS.map((u) => [u, randomBytes(12).toString('hex')]),
) as Record<NatsUser, string>;
let nats: NatsServer;
const open: NatsConnection[] = [];
const consumers: EventConsumer[] = [];
/** Poison messages published so far: every durable reads all of them. */
let poisons = 0;

const urlOf = (user: NatsUser): string => natsUrlWithCredentials(nats.url, user, passwords[user]);
async function as(user: NatsUser): Promise<NatsConnection> {
  const nc = await connectNats(urlOf(user), logger, `test-${user}`);
  open.push(nc);
  return nc;
}
const envelope = (eventType: string, data = '{}') => {
  const eventId = randomUUID();
  return {
    eventId,
    bytes: encodeEnvelope({
      eventId,
      eventType,
      streamId: `order-${eventId}`,
      version: 0,
      metadata: {},
      createdAt: new Date().toISOString(),
      data,
    }),
  };
};
/** A request nats-server refuses fails at once with a permissions violation naming the subject. */
const refused = (subject: string): RegExp =>
  new RegExp(`Permissions Violation for Publish to "${subject.replace(/[.$*>]/g, '\\$&')}"`);

beforeAll(async () => {
  nats = await startNats({ config: natsAuthorizationConf(STREAM, passwords) });
});
afterAll(async () => {
  for (const c of consumers) await c.stop();
  for (const nc of open) await nc.close().catch(() => undefined);
  await nats.stop();
});

test('when a client has no password or a wrong one, then the server refuses it', async () => {
  await expect(connect({ servers: nats.url, reconnect: false, timeout: 3000 })).rejects.toThrow(
    /Authorization Violation/,
  );
  await expect(
    connect({
      ...natsConnectOptions(natsUrlWithCredentials(nats.url, 'payment', 'nope')),
      reconnect: false,
    }),
  ).rejects.toThrow(/Authorization Violation/);
});

test('when a URL carries credentials, then connect options get them and logs get it redacted', () => {
  const url = natsUrlWithCredentials('nats://a:4222,nats://b:4222', 'payment', 'p4ss');
  expect(url).toBe('nats://payment:p4ss@a:4222,nats://payment:p4ss@b:4222');
  expect(natsConnectOptions(url)).toEqual({
    servers: ['nats://a:4222', 'nats://b:4222'],
    user: 'payment',
    pass: 'p4ss',
  });
  expect(redactNatsUrl(url)).toBe('nats://payment:***@a:4222,nats://payment:***@b:4222');
  expect(natsConnectOptions('nats://a:4222')).toEqual({ servers: ['nats://a:4222'] });
});

describe('each service, as its own user, can do its job', () => {
  test('when the event store starts, then it creates the streams and publishes order events with acks', async () => {
    const nc = await as('eventstore');
    await ensureStreams(await jsManager(nc), { name: STREAM });
    const publisher = new PipelinedJetStream(nc, 5000);
    try {
      const e = envelope('order-created');
      await publisher.publish(subjects.event('order-created'), e.bytes, e.eventId, headers());
    } finally {
      publisher.close();
    }
    const admin = await jetstreamManager(await as('admin'));
    expect((await admin.streams.info(STREAM)).state.messages).toBe(1);
    expect((await admin.streams.info(`${STREAM}_DLQ`)).config.subjects).toEqual([
      'orderflow.deadletter.>',
    ]);
  });

  test.each(Object.entries(NATS_DURABLES))(
    'when %s consumes, then it creates and pulls its durable %s, acks, reports ready and dead-letters poison messages',
    async (user, durable) => {
      const seen: string[] = [];
      const readiness = new Readiness();
      const bus = await startEventConsumer({
        config: {
          NATS_URL: urlOf(user as NatsUser),
          NATS_STREAM: STREAM,
          CONSUMER_CONCURRENCY: 2,
          CONSUMER_MAX_DELIVER: 2,
          CONSUMER_ACK_WAIT_MS: 5_000,
        },
        service: user,
        durable,
        readiness,
        eventTypes: ['order-created', 'poison'],
        handle: (event) => {
          if (event.eventType === 'poison') return Promise.reject(new Error('cannot handle'));
          seen.push(event.eventId);
          return Promise.resolve('handled');
        },
        logger,
        registry: createMetricsRegistry(user),
      });
      consumers.push(bus);
      readiness.started();
      const admin = await as('admin');
      const poison = envelope('poison');
      await jetstream(admin).publish(subjects.event('poison'), poison.bytes, {
        msgID: poison.eventId,
      });
      poisons++;
      const jsm = await jsManager(admin);
      // Not num_ack_pending: nats-server 2.9 (Debian's, here) ignores `+TERM <reason>`, so the
      // dead-lettered message stays pending there until its ack wait; 2.10 (the chart's) terms it.
      await waitFor(
        `${durable} handled the order event and dead-lettered the poison message`,
        async () => {
          const info = await jsm.consumers.info(STREAM, durable);
          const dlq = await jsm.streams.info(`${STREAM}_DLQ`, { subjects_filter: '>' });
          return (
            info.num_pending === 0 &&
            seen.length === 1 &&
            (dlq.state.subjects?.[subjects.deadLetter(durable)] ?? 0) === poisons
          );
        },
        { timeoutMs: 30_000 },
      );
      // Acked: the order event is not delivered again.
      const acked = (await jsm.consumers.info(STREAM, durable)).ack_floor.stream_seq;
      expect(acked).toBeGreaterThanOrEqual(1);
      expect(seen.length).toBe(1); // the event store's order-created
      await waitFor(`${user} ready`, async () => (await readiness.report()).ready, {
        timeoutMs: 10_000,
      });
      await bus.stop();
      consumers.splice(consumers.indexOf(bus), 1);
    },
  );

  test('when the operator reconciles, then it observes, creates and updates the streams and every durable', async () => {
    const port = createJetStreamAdapter(await as('operator'));
    const observed = await port.observe([STREAM, `${STREAM}_DLQ`], STREAM, ['payment', 'saga']);
    expect(observed.reachable).toBe(true);
    const stream = {
      name: STREAM,
      subjects: ['orderflow.events.>'],
      storage: 'file' as const,
      replicas: 1,
      maxAgeMs: 3_600_000,
      duplicateWindowMs: 60_000,
    };
    await port.updateStream(stream);
    await port.updateStream({
      ...stream,
      name: `${STREAM}_DLQ`,
      subjects: ['orderflow.deadletter.>'],
    });
    const consumer = {
      stream: STREAM,
      name: 'payment' as const,
      ackWaitMs: 20_000,
      maxDeliver: 5,
      maxAckPending: 100,
    };
    await port.updateConsumer(consumer);
    await port.createConsumer({ ...consumer, name: 'saga' as const }).catch((err: unknown) => {
      // The saga's own consumer exists already (created above): the server says so, no permission error.
      expect(String(err)).not.toMatch(/Permissions Violation/);
    });
    const after = await port.observe([STREAM], STREAM, ['payment']);
    expect(after.reachable && after.consumers['payment']?.ackWaitMs).toBe(20_000);
  });
});

describe('the live order feed', () => {
  test('when the query worker announces a projected order, then the order API hears it, and may publish nothing', async () => {
    const api = await as('order-api');
    const worker = await as('order-query-worker');
    const heard: string[] = [];
    const sub = api.subscribe(subjects.allProjectedOrders, {
      callback: (_err, m) => void heard.push(m.subject),
    });
    await api.flush();
    const orderId = randomUUID();
    worker.publish(subjects.projectedOrder(orderId), '{}');
    await worker.flush();
    await waitFor('the announcement', () => heard.length > 0);
    expect(heard).toEqual([subjects.projectedOrder(orderId)]);
    sub.unsubscribe();
    // A publish is refused (an empty allow list would allow all: the table denies `>`).
    const errors: string[] = [];
    void (async () => {
      for await (const st of api.status())
        if (st.type === 'error') errors.push(String(st.error?.message ?? st.error));
    })();
    api.publish(subjects.event('order-approved'), '{}');
    await waitFor('the violation', () => errors.length > 0);
    expect(errors[0]).toMatch(refused('orderflow.events.order-approved'));
    // Nor can it make requests (JetStream publishes): it may not even listen on an inbox.
    const other = await as('order-api');
    const e = envelope('order-approved');
    await expect(
      jetstream(other).publish(subjects.event('order-approved'), e.bytes, { msgID: e.eventId }),
    ).rejects.toThrow(/Permissions Violation for Subscription to "_INBOX\./);
  });
});

describe('and nothing else', () => {
  test('when payment publishes an order event or deletes or purges the stream, then the server refuses', async () => {
    const nc = await as('payment');
    const jsm = await jetstreamManager(nc);
    const e = envelope('order-approved');
    await expect(
      jetstream(nc).publish(subjects.event('order-approved'), e.bytes, { msgID: e.eventId }),
    ).rejects.toThrow(refused('orderflow.events.order-approved'));
    await expect(jsm.streams.delete(STREAM)).rejects.toThrow(
      refused(`$JS.API.STREAM.DELETE.${STREAM}`),
    );
    await expect(jsm.streams.purge(STREAM)).rejects.toThrow(
      refused(`$JS.API.STREAM.PURGE.${STREAM}`),
    );
    await expect(jsm.consumers.delete(STREAM, 'saga')).rejects.toThrow(
      refused(`$JS.API.CONSUMER.DELETE.${STREAM}.saga`),
    );
    const admin = await jetstreamManager(await as('admin'));
    expect((await admin.streams.info(STREAM)).state.messages).toBeGreaterThan(0);
    expect(
      (await admin.streams.info(STREAM, { subjects_filter: '>' })).state.subjects,
    ).not.toHaveProperty('orderflow.events.order-approved');
  });

  test("when payment pulls saga's durable, acks for it or dead-letters as saga, then the server refuses", async () => {
    const nc = await as('payment');
    const js = jetstream(nc);
    await expect(
      (async () => {
        const c = await js.consumers.get(STREAM, 'saga');
        await c.next({ expires: 1000 });
      })(),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(
      nc.request(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.saga`, undefined, { timeout: 2000 }),
    ).rejects.toThrow(refused(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.saga`));
    const e = envelope('order-created');
    await expect(
      js.publish(subjects.deadLetter('saga'), e.bytes, { msgID: e.eventId }),
    ).rejects.toThrow(refused('orderflow.deadletter.saga'));
  });

  test('when the event store or the operator reach beyond their job, then the server refuses', async () => {
    const es = await jetstreamManager(await as('eventstore'));
    await expect(es.streams.delete(STREAM)).rejects.toThrow(
      refused(`$JS.API.STREAM.DELETE.${STREAM}`),
    );
    await expect(es.consumers.info(STREAM, 'payment')).rejects.toThrow(
      refused(`$JS.API.CONSUMER.INFO.${STREAM}.payment`),
    );
    const opNc = await as('operator');
    const op = await jetstreamManager(opNc);
    await expect(op.streams.delete(STREAM)).rejects.toThrow(
      refused(`$JS.API.STREAM.DELETE.${STREAM}`),
    );
    await expect(op.streams.getMessage(STREAM, { seq: 1 })).rejects.toThrow(
      /Permissions Violation/,
    );
    const e = envelope('order-created');
    await expect(
      jetstream(opNc).publish(subjects.event('order-created'), e.bytes, { msgID: e.eventId }),
    ).rejects.toThrow(refused('orderflow.events.order-created'));
  });
});
