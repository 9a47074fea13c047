import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';

/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, from the standard health.proto. */
const SERVING = 1;
import { startStore, type StoreUnderTest } from './harness';

// A client that knows nothing of the project's generated code: it loads proto/ at run time, the
// way a client in another language would use the published contract.
let sut: StoreUnderTest;
beforeAll(async () => {
  sut = await startStore();
});
afterAll(async () => {
  await sut.stop();
});

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
interface DynamicClient extends grpc.Client {
  AppendToStream(req: unknown, cb: Callback<{ next_expected_version: string }>): void;
  ReadStream(
    req: unknown,
    cb: Callback<{
      events: {
        version: string;
        event_type: string;
        data: string;
        metadata: Record<string, string>;
      }[];
    }>,
  ): void;
}

test('when a client loads proto/ with @grpc/proto-loader, then it can append and read with the published names', async () => {
  const def = protoLoader.loadSync(
    join(__dirname, '../../../proto/orderflow/eventstore/v1/eventstore.proto'),
    {
      keepCase: true,
      longs: String,
      defaults: true,
    },
  );
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    orderflow: {
      eventstore: {
        v1: { EventStore: new (addr: string, creds: grpc.ChannelCredentials) => DynamicClient };
      };
    };
  };
  const client = new pkg.orderflow.eventstore.v1.EventStore(
    `127.0.0.1:${sut.app.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const call = <T>(fn: (cb: Callback<T>) => void): Promise<T> =>
    new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
  const streamId = `order-${randomUUID()}`;
  const appended = await call<{ next_expected_version: string }>((cb) =>
    client.AppendToStream(
      {
        stream_id: streamId,
        expected_version: -1,
        events: [
          {
            event_id: randomUUID(),
            event_type: 'order-created',
            data: '{"a":1}',
            metadata: { correlation_id: 'c-1' },
          },
        ],
      },
      cb,
    ),
  );
  expect(appended.next_expected_version).toBe('0');
  const read = await call<{
    events: {
      version: string;
      event_type: string;
      data: string;
      metadata: Record<string, string>;
    }[];
  }>((cb) => client.ReadStream({ stream_id: streamId, from_version: 0, max_count: 10 }, cb));
  expect(
    read.events.map((e): unknown[] => [e.version, e.event_type, JSON.parse(e.data), e.metadata]),
  ).toEqual([['0', 'order-created', { a: 1 }, { correlation_id: 'c-1' }]]);
  const err = await call((cb) =>
    client.AppendToStream({ stream_id: '', expected_version: -2, events: [] }, cb),
  ).catch((e: unknown) => e);
  expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  client.close();
});

test('when the standard health service is asked, then it answers SERVING for the server and the EventStore service', async () => {
  const channel = createChannel(`127.0.0.1:${sut.app.grpcPort}`);
  const health = createClient(HealthDefinition, channel);
  expect((await health.check({ service: '' })).status).toBe(SERVING);
  expect((await health.check({ service: 'orderflow.eventstore.v1.EventStore' })).status).toBe(
    SERVING,
  );
  channel.close();
});
