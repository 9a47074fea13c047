import { randomUUID } from 'node:crypto';
import {
  AppendToStreamRequest,
  AppendToStreamsRequest,
  EventStoreDefinition,
  ReadStreamRequest,
} from '@orderflow/proto';
import { validateAppend, validateRead } from '../src/domain/append';
import { StoreError } from '../src/domain/errors';
import { ServerEventStoreDefinition, UNSAFE_REQUEST_ID } from '../src/wire';

const methods = ServerEventStoreDefinition.methods;
const event = { eventId: randomUUID(), eventType: 'x', data: '{}', metadata: { a: 'b' } };

describe('lenient request decoding', () => {
  test('when an int64 is outside the safe integer range, then the generated decoder throws and the server decoder yields NaN', () => {
    const bytes = AppendToStreamRequest.encode({
      streamId: 's',
      expectedVersion: 2 ** 62,
      events: [event],
    }).finish();
    expect(() => EventStoreDefinition.methods.appendToStream.requestType.decode(bytes)).toThrow(
      /MAX_SAFE_INTEGER/,
    );
    const decoded = methods.appendToStream.requestType.decode(bytes);
    expect(decoded).toEqual({ streamId: 's', expectedVersion: Number.NaN, events: [event] });
    expect(() => validateAppend(decoded)).toThrow(StoreError);
    expect(() => validateAppend(decoded)).toThrow(/^expected_version:/);

    const read = methods.readStream.requestType.decode(
      ReadStreamRequest.encode({ streamId: 's', fromVersion: -(2 ** 60), maxCount: 3 }).finish(),
    );
    expect(read.maxCount).toBe(3);
    expect(() => validateRead(read.streamId, read.fromVersion, read.maxCount)).toThrow(
      /^from_version:/,
    );
  });

  test('when a request is well-formed, then the server decoder reads exactly what the generated one reads', () => {
    const req = {
      appends: [
        {
          requestId: 7,
          append: { streamId: 'order-1', expectedVersion: -1, events: [event] },
          traceContext: { traceparent: '00-abc-def-01' },
        },
      ],
    };
    const bytes = AppendToStreamsRequest.encode(req).finish();
    expect(methods.appendToStreams.requestType.decode(bytes)).toEqual(
      EventStoreDefinition.methods.appendToStreams.requestType.decode(bytes),
    );
    const unsafe = methods.appendToStreams.requestType.decode(
      AppendToStreamsRequest.encode({
        appends: [{ ...req.appends[0]!, requestId: 2 ** 60 }],
      }).finish(),
    );
    expect(UNSAFE_REQUEST_ID in unsafe.appends[0]!).toBe(true);
  });
});

describe('text PostgreSQL cannot store', () => {
  test('when a stream id or a metadata entry holds a NUL or control character, then validation names the field', () => {
    expect(() => validateRead('a\u0000b', 0, 0)).toThrow(/^stream_id:/);
    expect(() =>
      validateAppend({ streamId: 'a\u0007', expectedVersion: -2, events: [event] }),
    ).toThrow(/^stream_id:/);
    expect(() =>
      validateAppend({
        streamId: 's',
        expectedVersion: -2,
        events: [{ ...event, metadata: { k: 'v\u0000' } }],
      }),
    ).toThrow(/^events\[0\]\.metadata:/);
  });
});
