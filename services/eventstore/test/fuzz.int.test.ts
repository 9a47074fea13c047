import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ClientError, Status, createEventStoreClient } from '@orderflow/platform';
import type { EventStoreClient } from '@orderflow/proto';
import { fuzzRuns, fuzzSeed } from '@orderflow/testkit';
import { startStore, type StoreUnderTest } from './harness';

// Property-based tests of the event store's gRPC edge: AppendToStream and ReadStream (unary, and
// appends over the long-lived AppendToStreams call) with generated arguments, against the real
// server and PostgreSQL. Whatever arrives, the answer is a result or a deliberate status, never
// INTERNAL or UNKNOWN. `make fuzz` runs more cases (FUZZ_RUNS).
let sut: StoreUnderTest;
let unary: { client: EventStoreClient; close(): void };
let streamed: { client: EventStoreClient; close(): void };

beforeAll(async () => {
  sut = await startStore();
  const address = `127.0.0.1:${sut.app.grpcPort}`;
  unary = createEventStoreClient(address, { streamAppends: false });
  streamed = createEventStoreClient(address);
});

afterAll(async () => {
  unary.close();
  streamed.close();
  await sut.stop();
});

const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      'x y',
      '%00',
      "'; DROP TABLE events; --",
    ),
  );
const streamId = fc.oneof(
  fc.uuid().map((u) => `order-${u}`),
  fc.constantFrom('fuzz-stream-1', 'fuzz-stream-2'),
  text(40),
  fc.nat({ max: 2000 }).map((n) => 's'.repeat(n)),
);
const int64 = fc.oneof(
  fc.constantFrom(-2, -1, 0, 1, 2),
  fc.integer({ min: -10, max: 1000 }),
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    2 ** 62,
    -(2 ** 62),
    2 ** 63 - 1024,
  ),
);
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');
const event = fc.record({
  eventId: fc.oneof(fc.uuid(), fc.constant(randomUUID()), text(40)),
  eventType: fc.oneof(fc.constantFrom('order-created', 'fuzz.event', 'x'), text(300)),
  data: fc.oneof(json, text(200), fc.constantFrom('{"a":"\\u0000"}', '"\\ud800"', '{}', '[]')),
  metadata: fc.dictionary(text(20), text(40), { maxKeys: 5 }),
});
const append = fc.record({
  streamId,
  expectedVersion: int64,
  events: fc.oneof(
    { weight: 5, arbitrary: fc.array(event, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.array(event, { minLength: 0, maxLength: 120 }) },
  ),
});

/** The gRPC status an error answered with (UNKNOWN when it is not a gRPC answer at all). */
const statusOf = (err: unknown): Status => (err instanceof ClientError ? err.code : Status.UNKNOWN);
const FORBIDDEN = new Set([Status.INTERNAL, Status.UNKNOWN]);
const describeStatus = (s: Status) => Status[s];

test('when AppendToStream gets generated arguments, then it answers a result or a deliberate status, never INTERNAL or UNKNOWN', async () => {
  await fc.assert(
    fc.asyncProperty(append, fc.boolean(), async (request, overStream) => {
      const client = overStream ? streamed.client : unary.client;
      try {
        const r = await client.appendToStream(request, { signal: AbortSignal.timeout(10_000) });
        expect(r.nextExpectedVersion).toBeGreaterThanOrEqual(0);
      } catch (err: unknown) {
        const s = statusOf(err);
        if (FORBIDDEN.has(s))
          throw new Error(
            `AppendToStream answered ${describeStatus(s)}: ${err instanceof Error ? err.message : String(err)}`,
          );
      }
    }),
    { numRuns: fuzzRuns(60), seed: fuzzSeed() },
  );
});

test('when ReadStream gets generated arguments, then it answers events or a deliberate status, never INTERNAL or UNKNOWN', async () => {
  await fc.assert(
    fc.asyncProperty(
      streamId,
      int64,
      fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.constantFrom(2 ** 31 - 1, -(2 ** 31))),
      async (id, fromVersion, maxCount) => {
        try {
          const r = await unary.client.readStream(
            { streamId: id, fromVersion, maxCount },
            { signal: AbortSignal.timeout(10_000) },
          );
          expect(Array.isArray(r.events)).toBe(true);
        } catch (err: unknown) {
          const s = statusOf(err);
          if (FORBIDDEN.has(s))
            throw new Error(
              `ReadStream answered ${describeStatus(s)}: ${err instanceof Error ? err.message : String(err)}`,
            );
        }
      },
    ),
    { numRuns: fuzzRuns(60), seed: fuzzSeed() },
  );
});
