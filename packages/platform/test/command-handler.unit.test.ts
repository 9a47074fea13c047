import { randomUUID } from 'node:crypto';
import type { OrderEvent, RecordedOrderEvent } from '@orderflow/events';
import {
  ExpectedVersion,
  RetryLaterError,
  VersionConflict,
  appendEvents,
  emptyHistory,
  handleCommand,
  versionConflictRetry,
  type Decider,
  type EmittedEvent,
  type EventStreams,
  type StreamHistory,
} from '../src';

const orderId = randomUUID();
const created: OrderEvent = {
  type: 'order-created',
  data: { orderId, customerId: 'c1', restaurantId: 'r1', items: [], amount: 100 },
};
const cancel: OrderEvent = {
  type: 'order-cancelled',
  data: { orderId, reason: 'payment-timeout' },
};

/** An in-memory stream behind the EventStreams port: the store's version rule, no database. */
class MemoryStreams implements EventStreams {
  events: RecordedOrderEvent[] = [];
  metadata: Record<string, string>[] = [];
  reads = 0;
  /** Appends another writer slips in before each of ours, to force conflicts. */
  interlopers = 0;

  read(): Promise<StreamHistory> {
    this.reads++;
    const last = this.events[this.events.length - 1];
    return Promise.resolve({
      ...emptyHistory(),
      events: [...this.events],
      lastVersion: this.events.length - 1,
      lastEventId: last?.eventId,
    });
  }

  append(
    streamId: string,
    expected: number,
    events: readonly EmittedEvent[],
    metadata: Record<string, string>,
  ): Promise<{ duplicate: boolean; nextExpectedVersion: number }> {
    if (this.interlopers > 0) {
      this.interlopers--;
      this.push({ eventId: randomUUID(), event: created });
    }
    if (events.every((e) => this.events.some((s) => s.eventId === e.eventId)))
      return Promise.resolve({ duplicate: true, nextExpectedVersion: this.events.length - 1 });
    if (expected !== ExpectedVersion.Any && expected !== this.events.length - 1)
      return Promise.reject(new VersionConflict(streamId, expected));
    for (const e of events) this.push(e);
    this.metadata.push(metadata);
    return Promise.resolve({ duplicate: false, nextExpectedVersion: this.events.length - 1 });
  }

  private push(e: EmittedEvent): void {
    this.events.push({ ...e, version: this.events.length, recordedAt: 'now' });
  }
}

/** Counts the events; decides to cancel once when there is an order and no cancellation yet. */
const decider: Decider<string, { seen: number; cancelled: boolean }, number> = {
  initialState: () => ({ seen: 0, cancelled: false }),
  evolve: (s, e) => ({
    seen: s.seen + 1,
    cancelled: s.cancelled || e.event.type === 'order-cancelled',
  }),
  decide: (eventId, s) => ({
    append: s.seen > 0 && !s.cancelled ? [{ eventId, event: cancel }] : [],
    result: s.seen,
  }),
};

const es = (streams: MemoryStreams) => ({ streams, producer: 'test' });
const cause = { correlationId: orderId, causationId: 'cause-1' };

test('when the decision appends, then it is written at the version read, with the one metadata', async () => {
  const streams = new MemoryStreams();
  await appendEvents(
    es(streams),
    's',
    ExpectedVersion.NoStream,
    [{ eventId: 'e0', event: created }],
    { cause },
  );
  const r = await handleCommand(es(streams), 's', 'e1', decider, { cause });
  expect(r).toMatchObject({
    result: 1,
    duplicate: false,
    nextExpectedVersion: 1,
    state: { seen: 2, cancelled: true },
  });
  expect(streams.events.map((e) => e.eventId)).toEqual(['e0', 'e1']);
  expect(streams.metadata[1]).toMatchObject({
    correlation_id: orderId,
    causation_id: 'cause-1',
    producer: 'test',
    schema_version: '1',
  });
});

test('when another writer moves the stream, then the handler reads again and decides on what it finds', async () => {
  const streams = new MemoryStreams();
  streams.events.push({ eventId: 'e0', event: created, version: 0, recordedAt: '' });
  streams.interlopers = 2;
  const conflicts: number[] = [];
  const r = await handleCommand(es(streams), 's', 'e1', decider, {
    cause,
    onConflict: (attempt) => conflicts.push(attempt),
  });
  expect(conflicts).toEqual([1, 2]);
  expect(streams.reads).toBe(3);
  expect(r.result).toBe(3);
  expect(streams.events.map((e) => e.version)).toEqual([0, 1, 2, 3]);
});

test('when the stream keeps moving, then the message is handed back to retry later', async () => {
  const streams = new MemoryStreams();
  streams.events.push({ eventId: 'e0', event: created, version: 0, recordedAt: '' });
  streams.interlopers = versionConflictRetry.maxAttempts;
  await expect(handleCommand(es(streams), 's', 'e1', decider, { cause })).rejects.toBeInstanceOf(
    RetryLaterError,
  );
});

test('when the history is known, then the first attempt reads nothing', async () => {
  const streams = new MemoryStreams();
  streams.events.push({ eventId: 'e0', event: created, version: 0, recordedAt: '' });
  const known = await streams.read();
  streams.reads = 0;
  const sources: string[] = [];
  await handleCommand(es(streams), 's', 'e1', decider, {
    cause,
    known,
    onHistory: (_h, source) => sources.push(source),
  });
  expect(sources).toEqual(['known']);
  expect(streams.reads).toBe(0);
});

test('when the events are stored already, then the answer is a duplicate and nothing is written', async () => {
  const streams = new MemoryStreams();
  const events = [{ eventId: 'e0', event: created }];
  await appendEvents(es(streams), 's', ExpectedVersion.Any, events, { cause });
  expect(await appendEvents(es(streams), 's', ExpectedVersion.Any, events, { cause })).toEqual({
    duplicate: true,
    nextExpectedVersion: 0,
  });
  expect(streams.events).toHaveLength(1);
});

test('when an append without a read conflicts, then the caller gets the VersionConflict', async () => {
  const streams = new MemoryStreams();
  streams.events.push({ eventId: 'e0', event: created, version: 0, recordedAt: '' });
  await expect(
    appendEvents(es(streams), 's', ExpectedVersion.NoStream, [{ eventId: 'e9', event: created }], {
      cause,
    }),
  ).rejects.toBeInstanceOf(VersionConflict);
});
