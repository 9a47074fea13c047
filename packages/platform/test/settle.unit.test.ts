import { ClientError, Status } from 'nice-grpc';
import {
  PoisonMessageError,
  RetryLaterError,
  backoffMs,
  settle,
  type HandlerResult,
  type Settlement,
} from '../src';

const policy = { maxDeliver: 5, infrastructureMaxDeliver: 1000 };
const failed = (error: unknown): HandlerResult => ({ ok: false, error });
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const unavailable = new ClientError('/x', Status.UNAVAILABLE, 'down');

const table: [string, HandlerResult, number, Partial<Settlement>][] = [
  ['a handled message', { ok: true, outcome: 'handled' }, 1, { action: 'ack', outcome: 'handled' }],
  ['a duplicate', { ok: true, outcome: 'duplicate' }, 3, { action: 'ack', outcome: 'duplicate' }],
  [
    'an ignored message',
    { ok: true, outcome: 'ignored' },
    1,
    { action: 'ack', outcome: 'ignored' },
  ],
  [
    'a poison message on its first delivery',
    failed(new PoisonMessageError('bad')),
    1,
    { action: 'deadLetter', kind: 'poison', reason: 'bad' },
  ],
  [
    'a handler error below MaxDeliver',
    failed(new Error('boom')),
    2,
    { action: 'nak', delayMs: backoffMs(2), expected: false },
  ],
  [
    'a handler error at MaxDeliver',
    failed(new Error('boom')),
    5,
    { action: 'deadLetter', kind: 'max_deliver', reason: 'boom' },
  ],
  [
    'a retry-later with its own delay',
    failed(new RetryLaterError('gap', 250)),
    1,
    { action: 'nak', delayMs: 250, expected: true },
  ],
  [
    'a retry-later past MaxDeliver but within its own budget',
    failed(new RetryLaterError('gap', 250, 200)),
    50,
    { action: 'nak', delayMs: 250 },
  ],
  [
    'a retry-later at its own budget',
    failed(new RetryLaterError('gap', 250, 200)),
    200,
    { action: 'deadLetter', kind: 'max_deliver' },
  ],
  [
    'a refused database connection past MaxDeliver',
    failed(refused),
    50,
    { action: 'nak', expected: false },
  ],
  ['an unavailable event store past MaxDeliver', failed(unavailable), 999, { action: 'nak' }],
  [
    'an infrastructure error at its budget',
    failed(unavailable),
    1000,
    { action: 'deadLetter', kind: 'max_deliver' },
  ],
  ['a thrown string', failed('plain'), 1, { action: 'nak', reason: 'plain' }],
];

test.each(table)(
  'when %s, then settle answers as the ack policy says',
  (_what, result, deliveryCount, expected) => {
    expect(settle(result, deliveryCount, policy)).toMatchObject(expected);
  },
);

test('when a handler keeps failing, then the backoff doubles from 200 ms and stops at 10 s', () => {
  expect([1, 2, 3, 6, 7, 20].map(backoffMs)).toEqual([200, 400, 800, 6400, 10_000, 10_000]);
});
