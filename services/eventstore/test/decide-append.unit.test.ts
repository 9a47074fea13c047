import { randomUUID } from 'node:crypto';
import { decideAppend, type AppendCommand } from '../src/domain/append';
import { takeBatch } from '../src/domain/batch-scheduler';
import { VersionConflictError } from '../src/domain/errors';

const ev = () => ({ eventId: randomUUID(), eventType: 't', data: '{}', metadata: {} });
const cmd = (streamId: string, expectedVersion: number, n = 1): AppendCommand => ({
  streamId,
  expectedVersion,
  events: Array.from({ length: n }, ev),
});

describe('decideAppend', () => {
  test('when a new stream is expected and there is none, then the events are written from version 0', () => {
    expect(decideAppend(cmd('s', -1, 2), undefined, [])).toEqual({
      kind: 'write',
      first: 0,
      last: 1,
      newStream: true,
    });
  });
  test('when the stream is at the expected version, then the events follow its head', () => {
    expect(decideAppend(cmd('s', 4), 4, [])).toEqual({
      kind: 'write',
      first: 5,
      last: 5,
      newStream: false,
    });
  });
  test('when the stream moved on, then the append is refused with a version conflict', () => {
    const d = decideAppend(cmd('s', 3), 4, []);
    expect(d.kind === 'reject' && d.error).toBeInstanceOf(VersionConflictError);
  });
  test('when any version is expected, then the events follow whatever head there is', () => {
    expect(decideAppend(cmd('s', -2), 9, [])).toMatchObject({ kind: 'write', first: 10 });
  });
  test('when every event was written before to this stream, then it is a duplicate with the original version', () => {
    const c = cmd('s', -1, 2);
    const existing = c.events.map((e, i) => ({
      event_id: e.eventId,
      stream_id: 's',
      version: i + 3,
    }));
    expect(decideAppend(c, 7, existing)).toEqual({ kind: 'duplicate', nextExpectedVersion: 4 });
  });
  test('when only some ids, or ids of another stream, exist, then the append is refused', () => {
    const c = cmd('s', -1, 2);
    const one = [{ event_id: c.events[0]!.eventId, stream_id: 's', version: 0 }];
    expect(decideAppend(c, 0, one)).toMatchObject({
      kind: 'reject',
      error: { code: 'event-id-conflict' },
    });
    const other = c.events.map((e, i) => ({ event_id: e.eventId, stream_id: 'x', version: i }));
    expect(decideAppend(c, 0, other)).toMatchObject({
      kind: 'reject',
      error: { code: 'event-id-conflict' },
    });
  });
});

describe('takeBatch', () => {
  const p = (streamId: string, ids: string[] = [randomUUID()]) => ({
    cmd: { streamId, events: ids.map((eventId) => ({ eventId })) },
  });
  test('when appends to one stream queue up, then only the first joins the group and none overtakes it', () => {
    const [a1, b, a2, c] = [p('a'), p('b'), p('a'), p('c')];
    const { batch, rest } = takeBatch([a1, b, a2, c], new Set(), 10);
    expect(batch).toEqual([a1, b, c]);
    expect(rest).toEqual([a2]);
  });
  test('when a stream is being written by a running group, then its appends wait', () => {
    const [a, b] = [p('a'), p('b')];
    expect(takeBatch([a, b], new Set(['a']), 10)).toEqual({ batch: [b], rest: [a] });
  });
  test('when two appends share an event id or the group is full, then the later one waits', () => {
    const [x, y, z] = [p('x', ['id-1']), p('y', ['id-1']), p('z')];
    expect(takeBatch([x, y, z], new Set(), 10)).toEqual({ batch: [x, z], rest: [y] });
    expect(takeBatch([x, z], new Set(), 1)).toEqual({ batch: [x], rest: [z] });
  });
});
