import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ClientError, Status } from 'nice-grpc';
import pg from 'pg';
import { createEventStoreClient } from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';
import { waitFor } from '@orderflow/testkit';
import { newEvent, startStore, type StoreUnderTest } from './harness';

let sut: StoreUnderTest;
/** The platform's client: appends streamed over AppendToStreams (the default) or unary calls. */
const clients: Record<
  'streamed' | 'unary',
  ReturnType<typeof createEventStoreClient>
> = {} as never;
let client: EventStoreClient;
let db: pg.Pool;

beforeAll(async () => {
  sut = await startStore({ RELAY_INTERVAL_MS: '100', RELAY_GRACE_MS: '200' });
  const address = `127.0.0.1:${sut.app.grpcPort}`;
  clients.streamed = createEventStoreClient(address);
  clients.unary = createEventStoreClient(address, { streamAppends: false });
  client = clients.streamed.client;
  db = new pg.Pool({ connectionString: sut.databaseUrl, max: 2 });
});

afterAll(async () => {
  clients.streamed.close();
  clients.unary.close();
  await db.end();
  await sut.stop();
});

async function grpcError(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err: unknown) {
    if (err instanceof ClientError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function versionsOf(streamId: string): Promise<number[]> {
  const r = await db.query<{ version: number }>(
    'SELECT version FROM events WHERE stream_id = $1 ORDER BY version',
    [streamId],
  );
  return r.rows.map((x) => Number(x.version));
}

describe.each(['streamed', 'unary'] as const)('AppendToStream (%s)', (transport) => {
  // Every case holds for both ways the platform's client can carry an append.
  let client: EventStoreClient;
  beforeAll(() => {
    client = clients[transport].client;
  });

  test('when a new stream is appended to, then its first event has version 0 and the next expected version follows', async () => {
    const streamId = `order-${randomUUID()}`;
    const first = await client.appendToStream({
      streamId,
      expectedVersion: -1,
      events: [newEvent()],
    });
    expect(first.nextExpectedVersion).toBe(0);
    const second = await client.appendToStream({
      streamId,
      expectedVersion: 0,
      events: [newEvent(), newEvent()],
    });
    expect(second.nextExpectedVersion).toBe(2);
    expect(await versionsOf(streamId)).toEqual([0, 1, 2]);
  });

  test('when 20 appends race with the same expected version, then exactly one wins and the rest get FAILED_PRECONDITION', async () => {
    const streamId = `order-${randomUUID()}`;
    await client.appendToStream({ streamId, expectedVersion: -1, events: [newEvent()] });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        client.appendToStream({ streamId, expectedVersion: 0, events: [newEvent()] }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(19);
    for (const f of failed) {
      expect(f.reason).toBeInstanceOf(ClientError);
      expect((f.reason as ClientError).code).toBe(Status.FAILED_PRECONDITION);
      expect((f.reason as ClientError).details).toMatch(/expected version 0, actual version 1/);
    }
    expect(await versionsOf(streamId)).toEqual([0, 1]);
  });

  test('when appends race with expected version any, then every event is written with no gap or duplicate version', async () => {
    const streamId = `order-${randomUUID()}`;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        client.appendToStream({ streamId, expectedVersion: -2, events: [newEvent()] }),
      ),
    );
    expect(await versionsOf(streamId)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  test('when an append is retried with the same event ids, then nothing new is written and the same version is returned', async () => {
    const streamId = `order-${randomUUID()}`;
    const events = [newEvent(), newEvent()];
    const first = await client.appendToStream({ streamId, expectedVersion: -1, events });
    const again = await client.appendToStream({ streamId, expectedVersion: -1, events });
    expect(again.nextExpectedVersion).toBe(first.nextExpectedVersion);
    expect(again.duplicate).toBe(true);
    expect(first.duplicate).toBe(false);
    expect(await versionsOf(streamId)).toEqual([0, 1]);
  });

  test('when a stream is at another version, then the conflict names the expected and the actual version', async () => {
    const streamId = `order-${randomUUID()}`;
    await client.appendToStream({ streamId, expectedVersion: -1, events: [newEvent()] });
    const noStream = await grpcError(
      client.appendToStream({ streamId, expectedVersion: -1, events: [newEvent()] }),
    );
    expect(noStream.code).toBe(Status.FAILED_PRECONDITION);
    expect(noStream.details).toMatch(/expected version -1 \(no stream\), actual version 0/);
    const behind = await grpcError(
      client.appendToStream({ streamId, expectedVersion: 5, events: [newEvent()] }),
    );
    expect(behind.details).toMatch(/expected version 5, actual version 0/);
  });

  test('when an event id is reused in another stream, then the append is refused with ALREADY_EXISTS', async () => {
    const e = newEvent();
    await client.appendToStream({
      streamId: `order-${randomUUID()}`,
      expectedVersion: -2,
      events: [e],
    });
    const err = await grpcError(
      client.appendToStream({
        streamId: `order-${randomUUID()}`,
        expectedVersion: -2,
        events: [e],
      }),
    );
    expect(err.code).toBe(Status.ALREADY_EXISTS);
  });

  const bigData = JSON.stringify({ blob: 'x'.repeat(1024 * 1024) });
  test.each([
    [
      'an empty stream id',
      { streamId: '', expectedVersion: -2, events: [newEvent()] },
      'stream_id',
    ],
    [
      'a non-UUID event id',
      { streamId: 's-1', expectedVersion: -2, events: [{ ...newEvent(), eventId: 'not-a-uuid' }] },
      'events[0].event_id',
    ],
    [
      'data that is not JSON',
      {
        streamId: 's-1',
        expectedVersion: -2,
        events: [newEvent(), { ...newEvent(), data: '{oops' }],
      },
      'events[1].data',
    ],
    ['an empty event list', { streamId: 's-1', expectedVersion: -2, events: [] }, 'events'],
    [
      'data over 1 MiB',
      { streamId: 's-1', expectedVersion: -2, events: [{ ...newEvent(), data: bigData }] },
      'events[0].data',
    ],
    [
      'an expected version below -2',
      { streamId: 's-1', expectedVersion: -3, events: [newEvent()] },
      'expected_version',
    ],
    [
      'an empty event type',
      { streamId: 's-1', expectedVersion: -2, events: [{ ...newEvent(), eventType: '' }] },
      'events[0].event_type',
    ],
  ])(
    'when the request has %s, then it is INVALID_ARGUMENT naming the field',
    async (_what, request, field) => {
      const err = await grpcError(client.appendToStream(request));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.details.startsWith(`${field}:`)).toBe(true);
      expect(await versionsOf('s-1')).toEqual([]);
    },
  );
});

describe('ReadStream', () => {
  test('when a stream is read, then its events come in version order with data and metadata intact', async () => {
    const streamId = `order-${randomUUID()}`;
    const meta = {
      correlation_id: randomUUID(),
      causation_id: randomUUID(),
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    const written = [
      newEvent('a', { i: 0, nested: { x: [1, 2] } }, meta),
      newEvent('b', { i: 1 }, meta),
      newEvent('c', { i: 2 }, meta),
    ];
    await client.appendToStream({ streamId, expectedVersion: -1, events: written.slice(0, 1) });
    await client.appendToStream({ streamId, expectedVersion: 0, events: written.slice(1) });
    const r = await client.readStream({ streamId, fromVersion: 0, maxCount: 0 });
    expect(r.lastVersion).toBe(2);
    expect(r.events.map((e) => e.version)).toEqual([0, 1, 2]);
    r.events.forEach((e, i) => {
      expect(e.eventId).toBe(written[i]!.eventId);
      expect(e.eventType).toBe(written[i]!.eventType);
      expect(JSON.parse(e.data)).toEqual(JSON.parse(written[i]!.data));
      expect(e.metadata).toEqual(meta);
      expect(e.streamId).toBe(streamId);
      expect(Number.isNaN(Date.parse(e.createdAt))).toBe(false);
    });
    const tail = await client.readStream({ streamId, fromVersion: 1, maxCount: 1 });
    expect(tail.events.map((e) => e.version)).toEqual([1]);
  });

  test('when a stream does not exist, then it reads empty with last version -1', async () => {
    const r = await client.readStream({
      streamId: `order-${randomUUID()}`,
      fromVersion: 0,
      maxCount: 10,
    });
    expect(r.events).toEqual([]);
    expect(r.lastVersion).toBe(-1);
  });
});

describe('publishing', () => {
  test('when events are appended, then JetStream holds each once with its metadata as headers', async () => {
    const streamId = `order-${randomUUID()}`;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const events = [
      newEvent('order-created', { k: 1 }, { traceparent }),
      newEvent('order-approved', { k: 2 }, { traceparent }),
    ];
    await client.appendToStream({ streamId, expectedVersion: -1, events });
    await client.appendToStream({ streamId, expectedVersion: -1, events }); // a retry: no new publish

    const nc = await connect({ servers: sut.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const found = new Map<string, { count: number; traceparent?: string; version?: string }>();
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && found.size < 2) {
        const info = await jsm.streams.info('ORDERS');
        found.clear();
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage('ORDERS', { seq }).catch(() => undefined);
          const id = m?.header.get('Nats-Msg-Id');
          if (!m || !id || !events.some((e) => e.eventId === id)) continue;
          const prev = found.get(id);
          found.set(id, {
            count: (prev?.count ?? 0) + 1,
            traceparent: m.header.get('traceparent'),
            version: m.header.get('Orderflow-Version'),
          });
        }
        if (found.size < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(found.get(events[0]!.eventId)).toEqual({ count: 1, traceparent, version: '0' });
      expect(found.get(events[1]!.eventId)).toEqual({ count: 1, traceparent, version: '1' });
    } finally {
      await nc.close();
    }
    // The outbox rows go once JetStream acknowledged them (deletes are batched, so shortly after).
    const outboxRows = async (): Promise<number> =>
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::INT AS n FROM outbox o JOIN events e USING (event_id) WHERE e.stream_id = $1',
          [streamId],
        )
      ).rows[0]!.n;
    await waitFor('the outbox rows to be deleted', async () => (await outboxRows()) === 0).catch(
      () => undefined,
    );
    expect(await outboxRows()).toBe(0);
  });
});
