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
