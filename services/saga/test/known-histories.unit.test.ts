import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '@orderflow/events';
import { KnownHistories } from '../src/application/known-histories';
import type { RecordedOrderEvent } from '../src/domain/workflow';

const orderId = randomUUID();
const at = (version: number): RecordedOrderEvent => ({
  event: {
    type: 'order-payment-declined',
    data: { orderId, reason: 'insufficient-credit' },
  } as unknown as OrderEvent,
  eventId: randomUUID(),
  version,
  recordedAt: new Date().toISOString(),
});
const meta = { correlation_id: orderId };

test('when an order first event arrives, then its history is that event alone, with nothing read', () => {
  const known = new KnownHistories();
  const first = at(0);
  const h = known.extend(orderId, first, meta);
  expect(h).toEqual({
    events: [first],
    lastVersion: 0,
    lastEventId: first.eventId,
    lastCorrelationId: orderId,
    skipped: 0,
  });
});

test('when the next version arrives after a known history, then it extends it; a gap or an old version is a miss', () => {
  const known = new KnownHistories();
  const e0 = at(0);
  known.remember(orderId, known.extend(orderId, e0, meta)!);
  const e1 = at(1);
  expect(known.extend(orderId, e1, meta)?.events).toEqual([e0, e1]);
  expect(known.extend(orderId, at(2), meta)).toBeUndefined(); // version 1 was never remembered
  expect(known.extend(randomUUID(), at(1), meta)).toBeUndefined(); // an order never seen
});

test('when a shorter history is remembered after a longer one, then the longer one stays', () => {
  const known = new KnownHistories();
  const h0 = known.extend(orderId, at(0), meta)!;
  known.remember(orderId, h0);
  const h1 = known.extend(orderId, at(1), meta)!;
  known.remember(orderId, h1);
  known.remember(orderId, h0);
  expect(known.extend(orderId, at(2), meta)?.lastVersion).toBe(2);
});

test('when more orders are known than the capacity, then the least recently remembered is dropped', () => {
  const known = new KnownHistories(2);
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  for (const id of [a, b, c]) known.remember(id, known.extend(id, at(0), meta)!);
  expect(known.size).toBe(2);
  expect(known.extend(a, at(1), meta)).toBeUndefined();
  expect(known.extend(c, at(1), meta)).toBeDefined();
});
