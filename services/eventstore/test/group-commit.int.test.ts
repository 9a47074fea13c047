import { randomUUID } from 'node:crypto';
import { createPool, migrate, type Pool } from '@orderflow/platform';
import { freshDatabase } from '@orderflow/testkit';
import { PgEventStore } from '../src/adapters/pg-event-store';
import { migrationsDir } from '../src/app';
import type { RecordedEvent } from '../src/domain/append';
import { StoreError } from '../src/domain/errors';
import { newEvent } from './harness';

// Group commit: appends started together (one event-loop turn) are committed in one transaction.
let pool: Pool;
let store: PgEventStore;
const committed: RecordedEvent[][] = [];

beforeAll(async () => {
  pool = createPool(await freshDatabase('groupcommit'), 4);
  await migrate(pool, migrationsDir);
  store = new PgEventStore(pool, { afterCommit: (events) => committed.push(events) });
});

afterAll(async () => {
  await pool.end();
});

const versions = async (streamId: string): Promise<number[]> =>
  (
    await pool.query<{ version: number }>(
      'SELECT version FROM events WHERE stream_id = $1 ORDER BY version',
      [streamId],
    )
  ).rows.map((r) => Number(r.version));

test('when appends to many streams arrive together and some conflict, then only those fail and the rest are written once', async () => {
  const existing = `order-${randomUUID()}`;
  const reused = newEvent();
  await store.append({ streamId: existing, expectedVersion: -1, events: [newEvent()] });
  await store.append({ streamId: `order-${randomUUID()}`, expectedVersion: -1, events: [reused] });
  committed.length = 0;

  const fresh = Array.from({ length: 20 }, () => `order-${randomUUID()}`);
  const results = await Promise.allSettled([
    ...fresh.map((streamId) =>
      store.append({ streamId, expectedVersion: -1, events: [newEvent(), newEvent()] }),
    ),
    store.append({ streamId: existing, expectedVersion: -1, events: [newEvent()] }), // the stream exists
    store.append({ streamId: existing, expectedVersion: 7, events: [newEvent()] }), // wrong version
    store.append({ streamId: `order-${randomUUID()}`, expectedVersion: -2, events: [reused] }), // id taken elsewhere
  ]);

  const ok = results.slice(0, 20);
  expect(
    ok.every(
      (r) => r.status === 'fulfilled' && r.value.nextExpectedVersion === 1 && !r.value.duplicate,
    ),
  ).toBe(true);
  for (const streamId of fresh) expect(await versions(streamId)).toEqual([0, 1]);
  const failed = results
    .slice(20)
    .map((r) =>
      r.status === 'rejected' && r.reason instanceof StoreError
        ? r.reason.code
        : 'not a StoreError',
    );
  expect(failed).toEqual(['version-conflict', 'version-conflict', 'event-id-conflict']);
  expect(await versions(existing)).toEqual([0]);
  // Every written event reached the publish hook exactly once, with its version.
  const published = committed.flat();
  expect(published).toHaveLength(40);
  expect(new Set(published.map((e) => e.eventId)).size).toBe(40);
});

test('when the same append is sent twice at once and again later, then it is written once and the others answer duplicate', async () => {
  const streamId = `order-${randomUUID()}`;
  const events = [newEvent(), newEvent()];
  const [a, b] = await Promise.all([
    store.append({ streamId, expectedVersion: -1, events }),
    store.append({ streamId, expectedVersion: -1, events }),
  ]);
  const again = await store.append({ streamId, expectedVersion: -1, events });
  expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
  expect(again).toMatchObject({ duplicate: true, nextExpectedVersion: 1 });
  expect(await versions(streamId)).toEqual([0, 1]);
});

test('when appends to one stream arrive together with expected version any, then they keep their order without gaps', async () => {
  const streamId = `order-${randomUUID()}`;
  const events = Array.from({ length: 10 }, (_, i) => newEvent('step', { i }));
  await Promise.all(
    events.map((e) => store.append({ streamId, expectedVersion: -2, events: [e] })),
  );
  const rows = await pool.query<{ data: string; version: number }>(
    'SELECT data, version FROM events WHERE stream_id = $1 ORDER BY version',
    [streamId],
  );
  expect(rows.rows.map((r) => (JSON.parse(r.data) as { i: number }).i)).toEqual([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ]);
});

test('when appends to existing streams arrive together, then those at their expected version move in one statement and the others get their precise answers', async () => {
  const streams = Array.from({ length: 6 }, () => `order-${randomUUID()}`);
  for (const streamId of streams)
    await store.append({ streamId, expectedVersion: -1, events: [newEvent(), newEvent()] }); // heads at 1
  const retried = [newEvent()];
  await store.append({ streamId: streams[4]!, expectedVersion: 1, events: retried }); // head at 2
  const brandNew = `order-${randomUUID()}`;
  committed.length = 0;

  const results = await Promise.allSettled([
    store.append({ streamId: streams[0]!, expectedVersion: 1, events: [newEvent()] }),
    store.append({ streamId: streams[1]!, expectedVersion: -2, events: [newEvent(), newEvent()] }),
    store.append({
      streamId: streams[2]!,
      expectedVersion: 1,
      events: [newEvent(), newEvent(), newEvent()],
    }),
    store.append({ streamId: streams[3]!, expectedVersion: 0, events: [newEvent()] }), // behind: conflict
    store.append({ streamId: streams[4]!, expectedVersion: 1, events: retried }), // a retry: duplicate
    store.append({ streamId: brandNew, expectedVersion: -2, events: [newEvent()] }), // new, any
  ]);
  const value = (i: number) => {
    const r = results[i]!;
    if (r.status !== 'fulfilled') throw new Error(`append ${i} failed: ${String(r.reason)}`);
    return r.value;
  };
  expect(value(0)).toMatchObject({ nextExpectedVersion: 2, duplicate: false });
  expect(value(1)).toMatchObject({ nextExpectedVersion: 3, duplicate: false });
  expect(value(2)).toMatchObject({ nextExpectedVersion: 4, duplicate: false });
  expect(results[3]).toMatchObject({ status: 'rejected', reason: { code: 'version-conflict' } });
  expect(value(4)).toMatchObject({ nextExpectedVersion: 2, duplicate: true });
  expect(value(5)).toMatchObject({ nextExpectedVersion: 0, duplicate: false });
  expect(await versions(streams[0]!)).toEqual([0, 1, 2]);
  expect(await versions(streams[1]!)).toEqual([0, 1, 2, 3]);
  expect(await versions(streams[2]!)).toEqual([0, 1, 2, 3, 4]);
  expect(await versions(streams[3]!)).toEqual([0, 1]);
  expect(await versions(streams[4]!)).toEqual([0, 1, 2]);
  // What the hook saw is what was written, with the versions the store gave.
  const seen = committed
    .flat()
    .map((e) => `${e.streamId}@${e.version}`)
    .sort();
  expect(seen).toEqual(
    [
      ...[2].map((v) => `${streams[0]}@${v}`),
      ...[2, 3].map((v) => `${streams[1]}@${v}`),
      ...[2, 3, 4].map((v) => `${streams[2]}@${v}`),
      `${brandNew}@0`,
    ].sort(),
  );
});

test('when events carry quotes, backslashes and non-ASCII text in data and metadata, then they are stored and read back unchanged', async () => {
  const data = JSON.stringify({
    note: 'a "quoted" \\ back\\slash, ümlaut, 日本, 😀, tab\t, {braces}',
  });
  const metadata = { correlation_id: 'c-"1"\\', producer: 'tëst, {x}', traceparent: '' };
  const fresh = `order-${randomUUID()}`;
  const existing = `order-${randomUUID()}`;
  await store.append({ streamId: existing, expectedVersion: -1, events: [newEvent()] });
  // One group on each one-statement path: a new stream and an existing one.
  await Promise.all([
    store.append({
      streamId: fresh,
      expectedVersion: -1,
      events: [{ ...newEvent(), data, metadata }],
    }),
    store.append({
      streamId: existing,
      expectedVersion: 0,
      events: [{ ...newEvent(), data, metadata }],
    }),
  ]);
  for (const [streamId, version] of [
    [fresh, 0],
    [existing, 1],
  ] as const) {
    const r = await store.readStream(streamId, version, 1);
    expect(r.events[0]).toMatchObject({ data, metadata, version });
  }
});
