import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createEventStoreClient } from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';
import { newEvent, startStore, type StoreUnderTest } from './harness';

let sut: StoreUnderTest;
let client: EventStoreClient;
let close: () => void;
let db: pg.Pool;

beforeAll(async () => {
  sut = await startStore();
  ({ client, close } = createEventStoreClient(`127.0.0.1:${sut.app.grpcPort}`));
  db = new pg.Pool({ connectionString: sut.databaseUrl, max: 2 });
  // Fault injection: every other INSERT statement into events raises SQLSTATE 40001, so each
  // append fails once and succeeds on its retry. A sequence is not rolled back with the
  // transaction, so the retry sees the next value. Appends in this file run one at a time.
  await db.query('CREATE SEQUENCE fault_40001');
  await db.query(`
    CREATE FUNCTION raise_40001_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('fault_40001') % 2 = 1 THEN
        RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
      END IF;
      RETURN NULL;
    END $$`);
  await db.query(
    'CREATE TRIGGER inject_40001 BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION raise_40001_once()',
  );
});

afterAll(async () => {
  close();
  await db.end();
  await sut.stop();
});

async function retriesSoFar(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${sut.app.opsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('orderflow_eventstore_tx_retries_total'));
  return Number(line?.split(' ').pop() ?? 0);
}

test('when a transaction fails with SQLSTATE 40001, then it is retried and the event is written exactly once', async () => {
  const before = await retriesSoFar();
  const streamId = `fault-${randomUUID()}`;
  const event = newEvent();
  const r = await client.appendToStream({ streamId, expectedVersion: -1, events: [event] });
  expect(r.nextExpectedVersion).toBe(0);
  const rows = await db.query('SELECT event_id, version FROM events WHERE stream_id = $1', [
    streamId,
  ]);
  expect(rows.rows).toEqual([{ event_id: event.eventId, version: 0 }]);
  const outbox = await db.query('SELECT count(*)::INT AS n FROM outbox WHERE event_id = $1', [
    event.eventId,
  ]);
  expect(outbox.rows[0].n).toBeLessThanOrEqual(1);
  expect(await retriesSoFar()).toBe(before + 1);
});

test('when every append hits 40001 once, then each stream ends with exactly its events and no gap', async () => {
  const before = await retriesSoFar();
  const streams = Array.from({ length: 5 }, () => `fault-${randomUUID()}`);
  for (const streamId of streams) {
    await client.appendToStream({ streamId, expectedVersion: -1, events: [newEvent()] });
    await client.appendToStream({ streamId, expectedVersion: 0, events: [newEvent(), newEvent()] });
  }
  expect(await retriesSoFar()).toBe(before + 10);
  for (const streamId of streams) {
    const rows = await db.query<{ version: number }>(
      'SELECT version FROM events WHERE stream_id = $1 ORDER BY version',
      [streamId],
    );
    expect(rows.rows.map((x) => Number(x.version))).toEqual([0, 1, 2]);
  }
});
