import { ClientError, Status, type CallOptions } from 'nice-grpc';
import type {
  AppendToStreamRequest,
  AppendToStreamResponse,
  AppendToStreamsRequest,
  DeepPartial,
  EventStoreClient,
  StreamedAppend,
  StreamedAppendResult,
} from '@orderflow/proto';
import { AsyncQueue } from './async-queue';
import { SpanKind, injectTraceContext, withSpan } from './tracing';

/** Errors of streamed appends carry the unary method's path, as the same call made unary would. */
const APPEND_PATH = '/orderflow.eventstore.v1.EventStore/AppendToStream';

interface Pending {
  resolve(r: AppendToStreamResponse): void;
  reject(err: Error): void;
}

interface OpenCall {
  requests: AsyncQueue<DeepPartial<AppendToStreamsRequest>>;
  pending: Map<number, Pending>;
  abort: AbortController;
  /** Appends of this event-loop turn, sent together as one request when the turn ends. */
  batch: DeepPartial<StreamedAppend>[];
  /** Rough size of `batch` in bytes (the events' data and metadata). */
  batchBytes: number;
}

/**
 * A request holds at most this much event data: a batch of large appends is sent in several
 * requests, far below the event store's 8 MiB message limit (a single append may carry more).
 */
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_APPENDS = 256;

type RequestedEvent = NonNullable<DeepPartial<AppendToStreamRequest>['events']>[number];

const eventSize = (e: RequestedEvent): number => {
  let n = 64 + (e?.data?.length ?? 0);
  for (const [k, v] of Object.entries(e?.metadata ?? {})) n += k.length + (v?.length ?? 0);
  return n;
};

const sizeOf = (request: DeepPartial<AppendToStreamRequest>): number => {
  let n = 64 + (request.streamId?.length ?? 0);
  for (const e of request.events ?? []) n += eventSize(e);
  return n;
};

/** Settles the pending append an answer is for (unless its caller gave up). */
function settleAnswer(pending: Map<number, Pending>, r: StreamedAppendResult): void {
  const p = pending.get(r.requestId);
  if (!p) return; // its caller gave up (aborted)
  pending.delete(r.requestId);
  if (r.error) p.reject(new ClientError(APPEND_PATH, r.error.code, r.error.message));
  else if (r.result) p.resolve(r.result);
  else p.reject(new ClientError(APPEND_PATH, Status.INTERNAL, 'answer without result or error'));
}

/** The error every append left unanswered by an ended call fails with. */
function endedCallError(failure: unknown, closed: boolean): ClientError {
  if (failure instanceof ClientError)
    return new ClientError(APPEND_PATH, failure.code, failure.details);
  const reason = closed
    ? 'client closed'
    : failure
      ? `append stream failed: ${failure instanceof Error ? failure.message : 'unknown error'}`
      : 'the event store ended the append stream';
  return new ClientError(APPEND_PATH, Status.UNAVAILABLE, reason);
}

const abortError = (): Error =>
  Object.assign(new Error('The operation has been aborted'), { name: 'AbortError' });

/**
 * `AppendToStream` calls carried by one long-lived `AppendToStreams` call (proto/): a unary call
 * costs about 0.25 ms of CPU between client and server (a new HTTP/2 stream, headers, a deadline
 * and status per call), a message on an open stream about a seventh of that (docs/performance.md).
 * Callers see the unary contract: one promise per append, the same `ClientError` codes and
 * messages, a CLIENT span per append whose context travels in the request. The appends of one
 * event-loop turn go out together in one request (a closed loop of callers answered by one group
 * commit sends its next appends in the same turn). The call opens on the
 * first append and again after it ends; when it fails or the server ends it (it stops), every
 * unanswered append fails with that error or UNAVAILABLE, and a retry with the same event ids is
 * safe. An aborted `signal` fails that append at once (the server may still write it, as with a
 * cancelled unary call).
 */
export class StreamedAppends {
  private call: OpenCall | undefined;
  private nextId = 0;
  private closed = false;

  constructor(private readonly client: Pick<EventStoreClient, 'appendToStreams'>) {}

  append(
    request: DeepPartial<AppendToStreamRequest>,
    options: CallOptions = {},
  ): Promise<AppendToStreamResponse> {
    return withSpan(
      'grpc.client AppendToStream',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'grpc', 'rpc.method': APPEND_PATH, 'orderflow.streamed': true },
      },
      () => this.send(request, options.signal),
    );
  }

  /** Ends the call; unanswered appends fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    this.call?.abort.abort();
  }

  private send(
    request: DeepPartial<AppendToStreamRequest>,
    signal: AbortSignal | undefined,
  ): Promise<AppendToStreamResponse> {
    if (this.closed)
      return Promise.reject(new ClientError(APPEND_PATH, Status.UNAVAILABLE, 'client closed'));
    if (signal?.aborted) return Promise.reject(abortError());
    const call = this.call ?? this.open();
    const requestId = (this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.nextId + 1);
    return new Promise<AppendToStreamResponse>((resolve, reject) => {
      if (signal) {
        const onAbort = (): void => {
          call.pending.delete(requestId);
          reject(abortError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (): void => signal.removeEventListener('abort', onAbort);
        call.pending.set(requestId, {
          resolve: (r) => (done(), resolve(r)),
          reject: (e) => (done(), reject(e)),
        });
      } else call.pending.set(requestId, { resolve, reject });
      const bytes = sizeOf(request);
      if (
        call.batch.length > 0 &&
        (call.batchBytes + bytes > MAX_BATCH_BYTES || call.batch.length >= MAX_BATCH_APPENDS)
      )
        this.flush(call);
      if (call.batch.length === 0) setImmediate(() => this.flush(call));
      call.batch.push({ requestId, append: request, traceContext: injectTraceContext({}) });
      call.batchBytes += bytes;
    });
  }

  private flush(call: OpenCall): void {
    const appends = call.batch.splice(0);
    call.batchBytes = 0;
    // Appends whose call ended meanwhile were failed with the rest of its unanswered ones.
    if (appends.length > 0 && !call.requests.isEnded) call.requests.push({ appends });
  }

  private open(): OpenCall {
    const call: OpenCall = {
      requests: new AsyncQueue(),
      pending: new Map(),
      abort: new AbortController(),
      batch: [],
      batchBytes: 0,
    };
    this.call = call;
    void this.run(call);
    return call;
  }

  private async run(call: OpenCall): Promise<void> {
    let failure: unknown;
    try {
      for await (const answer of this.client.appendToStreams(call.requests, {
        signal: call.abort.signal,
      }))
        for (const r of answer.results) settleAnswer(call.pending, r);
    } catch (err: unknown) {
      failure = err;
    }
    if (this.call === call) this.call = undefined;
    call.requests.end();
    const error = endedCallError(failure, this.closed);
    for (const p of call.pending.values()) p.reject(error);
    call.pending.clear();
  }
}
