import { randomUUID } from 'node:crypto';
import { checkExpectedVersion, validateAppend, validateRead } from '../src/domain/append';
import { StoreError, VersionConflictError } from '../src/domain/errors';

const ev = (
  over: Partial<{
    eventId: string;
    eventType: string;
    data: string;
    metadata: Record<string, string>;
  }> = {},
) => ({
  eventId: randomUUID(),
  eventType: 'order-created',
  data: '{}',
  metadata: {},
  ...over,
});

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof StoreError) return err.message.split(':')[0]!;
    throw err;
  }
  throw new Error('expected a StoreError');
}

describe('validateAppend', () => {
  test('when the request is well formed, then event ids are normalised to lower case', () => {
    const id = randomUUID().toUpperCase();
    const cmd = validateAppend({
      streamId: 'order-1',
      expectedVersion: -2,
      events: [ev({ eventId: id })],
    });
    expect(cmd.events[0]!.eventId).toBe(id.toLowerCase());
  });

  test.each([
    ['stream_id', { streamId: 'a b' }],
    ['stream_id', { streamId: 'x'.repeat(257) }],
    ['expected_version', { expectedVersion: 1.5 }],
    ['events', { events: Array.from({ length: 1001 }, () => ev()) }],
    [
      'events[1].event_id',
      {
        events: [
          ev({ eventId: 'e4a2a5d0-0000-4000-8000-000000000001' }),
          ev({ eventId: 'E4A2A5D0-0000-4000-8000-000000000001' }),
        ],
      },
    ],
    ['events[0].event_type', { events: [ev({ eventType: 'has space' })] }],
    ['events[0].metadata.big', { events: [ev({ metadata: { big: 'x'.repeat(9000) } })] }],
  ])('when %s is wrong, then the error names it', (field, over) => {
    expect(
      fieldOf(() =>
        validateAppend({ streamId: 'order-1', expectedVersion: -2, events: [ev()], ...over }),
      ),
    ).toBe(field);
  });
});

describe('checkExpectedVersion', () => {
  test('when the expected version is any, then every current version passes', () => {
    expect(() => checkExpectedVersion('s', -2, -1)).not.toThrow();
    expect(() => checkExpectedVersion('s', -2, 41)).not.toThrow();
  });
  test('when the stream must not exist but does, then it is a version conflict', () => {
    expect(() => checkExpectedVersion('s', -1, 0)).toThrow(VersionConflictError);
  });
  test('when the expected version matches, then it passes; otherwise the conflict carries both versions', () => {
    expect(() => checkExpectedVersion('s', 3, 3)).not.toThrow();
    try {
      checkExpectedVersion('s', 2, 3);
      throw new Error('no conflict');
    } catch (err: unknown) {
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).expected).toBe(2);
      expect((err as VersionConflictError).actual).toBe(3);
    }
  });
});

describe('validateRead', () => {
  test('when max_count is 0, then the default page size applies', () => {
    expect(validateRead('s', 0, 0).maxCount).toBe(1000);
  });
  test('when from_version is negative, then the error names it', () => {
    expect(fieldOf(() => validateRead('s', -1, 10))).toBe('from_version');
  });
});
