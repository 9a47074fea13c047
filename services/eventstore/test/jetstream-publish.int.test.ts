import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServer } from '@orderflow/testkit';
import { PipelinedJetStream } from '../src/adapters/jetstream-publish';

// The event store's own JetStream publishing (acks on one inbox subscription) against a real nats-server.

let server: NatsServer;
let nc: NatsConnection;
let pub: PipelinedJetStream;
const bytes = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'T', subjects: ['t.>'] });
  await jsm.streams.add({ name: 'SMALL', subjects: ['small.>'], max_msg_size: 64 });
  pub = new PipelinedJetStream(nc, 5_000);
});

afterAll(async () => {
  pub.close();
  await nc.close();
  await server.stop();
});

test('when 500 messages are published at once, then each resolves on its ack and a repeated message id is stored once', async () => {
  await Promise.all(
    Array.from({ length: 500 }, (_, i) => pub.publish('t.a', bytes(`m${i}`), `id-${i}`, headers())),
  );
  await pub.publish('t.a', bytes('again'), 'id-7', headers());
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('T');
  expect(info.state.messages).toBe(500);
  const stored = await jsm.streams.getMessage('T', { seq: 8 });
  expect(stored?.header.get('Nats-Msg-Id')).toBe('id-7');
  expect(new TextDecoder().decode(stored?.data)).toBe('m7');
});

test('when no stream stores the subject, then the publish fails and says so', async () => {
  await expect(pub.publish('nowhere.x', bytes('x'), 'n-1', headers())).rejects.toThrow(
    /no JetStream stream stores/,
  );
});

test('when JetStream refuses the message, then the publish fails with its description', async () => {
  await expect(pub.publish('small.x', bytes('x'.repeat(200)), 's-1', headers())).rejects.toThrow(
    /JetStream refused the publish: .*size/i,
  );
});

test('when the publisher is closed with publishes waiting, then they fail instead of hanging', async () => {
  const other = new PipelinedJetStream(nc, 5_000);
  const waiting = other.publish('t.b', bytes('late'), 'late-1', headers());
  other.close();
  await expect(waiting).rejects.toThrow(/publisher closed/);
});

test('when nothing acknowledges a publish, then it fails after the timeout', async () => {
  const quiet = nc.subscribe('quiet.x'); // a listener that never answers, so no 503 either
  const impatient = new PipelinedJetStream(nc, 300);
  try {
    await expect(impatient.publish('quiet.x', bytes('x'), 'q-1', headers())).rejects.toThrow(
      /timed out waiting for the JetStream ack/,
    );
  } finally {
    impatient.close();
    quiet.unsubscribe();
  }
});
