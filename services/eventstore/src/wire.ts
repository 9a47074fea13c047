import { BinaryReader } from '@bufbuild/protobuf/wire';
import {
  AppendToStreamRequest,
  AppendToStreamsRequest,
  EventData,
  EventStoreDefinition,
  ReadStreamRequest,
  StreamedAppend,
  StreamedAppend_TraceContextEntry,
} from '@orderflow/proto';

/**
 * Request decoding that never fails on a 64-bit integer. The generated decoders (ts-proto with
 * `forceLong=number`) throw on an int64 outside ±(2^53 − 1), and gRPC answers a request it cannot
 * decode with INTERNAL. Here such a value decodes as NaN, which validation refuses with
 * INVALID_ARGUMENT naming the field (`expected_version`, `from_version`). Found by the fuzz test.
 */

/** A request id that is not a safe integer: the streamed append is answered INVALID_ARGUMENT. */
export const UNSAFE_REQUEST_ID = Symbol('unsafe request_id');

const safe = (v: bigint | string): number => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Number.NaN;
};

const readerOf = (input: BinaryReader | Uint8Array): BinaryReader =>
  input instanceof BinaryReader ? input : new BinaryReader(input);

/** Skips a field this decoder does not read; false at the end of a group. */
function skip(reader: BinaryReader, tag: number): boolean {
  if ((tag & 7) === 4 || tag === 0) return false;
  reader.skip(tag & 7);
  return true;
}

function decodeAppendToStream(
  input: BinaryReader | Uint8Array,
  length?: number,
): AppendToStreamRequest {
  const reader = readerOf(input);
  const end = length === undefined ? reader.len : reader.pos + length;
  const m = AppendToStreamRequest.fromPartial({});
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) m.streamId = reader.string();
    else if (tag === 16) m.expectedVersion = safe(reader.int64());
    else if (tag === 26) m.events.push(EventData.decode(reader, reader.uint32()));
    else if (!skip(reader, tag)) break;
  }
  return m;
}

function decodeReadStream(input: BinaryReader | Uint8Array, length?: number): ReadStreamRequest {
  const reader = readerOf(input);
  const end = length === undefined ? reader.len : reader.pos + length;
  const m = ReadStreamRequest.fromPartial({});
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) m.streamId = reader.string();
    else if (tag === 16) m.fromVersion = safe(reader.int64());
    else if (tag === 24) m.maxCount = reader.int32();
    else if (!skip(reader, tag)) break;
  }
  return m;
}

function decodeStreamedAppend(input: BinaryReader | Uint8Array, length?: number): StreamedAppend {
  const reader = readerOf(input);
  const end = length === undefined ? reader.len : reader.pos + length;
  const m: StreamedAppend & { [UNSAFE_REQUEST_ID]?: true } = StreamedAppend.fromPartial({});
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) {
      const id = safe(reader.uint64());
      if (Number.isNaN(id)) m[UNSAFE_REQUEST_ID] = true;
      else m.requestId = id;
    } else if (tag === 18) m.append = decodeAppendToStream(reader, reader.uint32());
    else if (tag === 26) {
      // The generated map-entry decoder: two strings, no integers.
      const entry = StreamedAppend_TraceContextEntry.decode(reader, reader.uint32());
      m.traceContext[entry.key] = entry.value;
    } else if (!skip(reader, tag)) break;
  }
  return m;
}

function decodeAppendToStreams(
  input: BinaryReader | Uint8Array,
  length?: number,
): AppendToStreamsRequest {
  const reader = readerOf(input);
  const end = length === undefined ? reader.len : reader.pos + length;
  const m = AppendToStreamsRequest.fromPartial({});
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) m.appends.push(decodeStreamedAppend(reader, reader.uint32()));
    else if (!skip(reader, tag)) break;
  }
  return m;
}

/** The EventStore service definition the server registers: the generated one, decoding leniently. */
export const ServerEventStoreDefinition: typeof EventStoreDefinition = {
  ...EventStoreDefinition,
  methods: {
    ...EventStoreDefinition.methods,
    appendToStream: {
      ...EventStoreDefinition.methods.appendToStream,
      requestType: { ...AppendToStreamRequest, decode: decodeAppendToStream },
    },
    readStream: {
      ...EventStoreDefinition.methods.readStream,
      requestType: { ...ReadStreamRequest, decode: decodeReadStream },
    },
    appendToStreams: {
      ...EventStoreDefinition.methods.appendToStreams,
      requestType: { ...AppendToStreamsRequest, decode: decodeAppendToStreams },
    },
  },
};
