import { randomUUID } from 'node:crypto';
import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { AsyncQueue, createEventStoreClient } from '@orderflow/platform';
import {
  EventStoreDefinition,
  type AppendToStreamsRequest,
  type AppendToStreamsResponse,
  type DeepPartial,
} from '@orderflow/proto';
import { newEvent, startStore, type StoreUnderTest } from './harness';

// AppendToStreams and the platform client that carries AppendToStream over it (StreamedAppends),
// against the real event store, PostgreSQL and nats-server.

let sut: StoreUnderTest;
afterEach(async () => {
  await sut?.stop();
});

/** The value of a sample of `name` that has every one of `labels` (other labels may be there). */
const metricValue = async (opsPort: number, name: string, labels: string[]): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const hit = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
  return hit ? Number(hit.split(' ').pop()) : 0;
};

test('when 2,000 appends share one streamed call, then each gets its own answer and counts as one AppendToStream', async () => {
  sut = await startStore();
  const { client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`);
  try {
    const streams = Array.from({ length: 2000 }, () => `order-${randomUUID()}`);
    const answers = await Promise.all(
      streams.map((streamId, i) =>
        client.appendToStream({
          streamId,
          expectedVersion: -1,
          events: i % 2 ? [newEvent()] : [newEvent(), newEvent()],
        }),
      ),
    );
    // Answers match their own request (one event: version 0, two events: version 1).
    expect(answers.map((a) => a.nextExpectedVersion)).toEqual(
      streams.map((_, i) => (i % 2 ? 0 : 1)),
    );
    const again = await client
      .appendToStream({ streamId: streams[0]!, expectedVersion: -1, events: [newEvent()] })
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ClientError);
    expect((again as ClientError).code).toBe(Status.FAILED_PRECONDITION);
    expect(
      await metricValue(sut.app.opsPort, 'orderflow_grpc_server_requests_total', [
        'method="AppendToStream"',
        'code="OK"',
      ]),
    ).toBe(2000);
  } finally {
    close();
  }
});

test('when large appends are made in one turn, then they go out in several requests under the message limit and all succeed', async () => {
  sut = await startStore();
  const { client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`);
  try {
    // 12 × 0.7 MB: one request with all of them would break the event store's 8 MiB message limit.
    const big = JSON.stringify({ blob: 'x'.repeat(700 * 1024) });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        client.appendToStream({
          streamId: `order-${randomUUID()}`,
          expectedVersion: -1,
          events: [{ ...newEvent(), data: big }],
        }),
      ),
    );
    expect(answers.every((a) => a.nextExpectedVersion === 0 && !a.duplicate)).toBe(true);
  } finally {
    close();
  }
});

test('when a raw AppendToStreams request carries several appends and one lacks its append, then each is answered on its own', async () => {
  sut = await startStore();
  const channel = createChannel(`127.0.0.1:${sut.app.grpcPort}`);
  const raw = createClient(EventStoreDefinition, channel);
  const requests = new AsyncQueue<DeepPartial<AppendToStreamsRequest>>();
  const [s1, s2] = [`order-${randomUUID()}`, `order-${randomUUID()}`];
  requests.push({
    appends: [
      { requestId: 7 },
      { requestId: 8, append: { streamId: s1, expectedVersion: -1, events: [newEvent()] } },
    ],
  });
  requests.push({
    appends: [{ requestId: 9, append: { streamId: s2, expectedVersion: 3, events: [newEvent()] } }],
  });
  requests.end();
  const answers: AppendToStreamsResponse[] = [];
  for await (const a of raw.appendToStreams(requests)) answers.push(a);
  channel.close();
  const byId = new Map(answers.flatMap((a) => a.results).map((r) => [r.requestId, r]));
  expect(byId.size).toBe(3);
  expect(byId.get(7)?.error).toEqual({
    code: Status.INVALID_ARGUMENT,
    message: 'append: required',
  });
  expect(byId.get(8)?.result).toEqual({ nextExpectedVersion: 0, duplicate: false });
  expect(byId.get(9)?.error?.code).toBe(Status.FAILED_PRECONDITION);
});

test('when the event store stops with a streamed call open, then it stops promptly and the client fails over to UNAVAILABLE, then reconnects to a new server', async () => {
  sut = await startStore();
  const { client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`);
  try {
    await client.appendToStream({
      streamId: `order-${randomUUID()}`,
      expectedVersion: -1,
      events: [newEvent()],
    });
    // The long-lived call must not hold the server's graceful shutdown open.
    await sut.app.stop();
    const err = await client
      .appendToStream({
        streamId: `order-${randomUUID()}`,
        expectedVersion: -1,
        events: [newEvent()],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(Status.UNAVAILABLE);
  } finally {
    close();
    await sut.nats.stop();
    sut = undefined as never;
  }
});

test('when a streamed append is aborted by its caller, then it fails with AbortError and later appends still work', async () => {
  sut = await startStore();
  const { client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`);
  try {
    const controller = new AbortController();
    const pending = client.appendToStream(
      { streamId: `order-${randomUUID()}`, expectedVersion: -1, events: [newEvent()] },
      { signal: controller.signal },
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const next = await client.appendToStream({
      streamId: `order-${randomUUID()}`,
      expectedVersion: -1,
      events: [newEvent()],
    });
    expect(next.nextExpectedVersion).toBe(0);
  } finally {
    close();
  }
});

test('when the client is closed, then unanswered and later appends fail with UNAVAILABLE', async () => {
  sut = await startStore();
  const { client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`);
  const inFlight = client.appendToStream({
    streamId: `order-${randomUUID()}`,
    expectedVersion: -1,
    events: [newEvent()],
  });
  close();
  await expect(inFlight).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  await expect(
    client.appendToStream({
      streamId: `order-${randomUUID()}`,
      expectedVersion: -1,
      events: [newEvent()],
    }),
  ).rejects.toMatchObject({ code: Status.UNAVAILABLE });
});
