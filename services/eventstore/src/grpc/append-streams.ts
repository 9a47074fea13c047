import type { CallContext } from 'nice-grpc';
import type {
  AppendToStreamsRequest,
  AppendToStreamsResponse,
  DeepPartial,
  StreamedAppendResult,
} from '@orderflow/proto';
import { AsyncQueue } from '@orderflow/platform';
import type { PgEventStore } from '../adapters/pg-event-store';
import type { Appender } from './append';

/** Unanswered appends one AppendToStreams call may have; reading pauses at this many. */
export const STREAMED_APPENDS_IN_FLIGHT = 1024;

type Next = IteratorResult<AppendToStreamsRequest>;

/**
 * One AppendToStreams call: reads requests and starts each append at once (they meet in the
 * store's group commit), answering in completion order. Reading pauses at
 * STREAMED_APPENDS_IN_FLIGHT unanswered appends, and stops when the client ends its side or the
 * server stops; the call ends once every append read has been answered.
 */
class AppendStreamsCall {
  readonly answers = new AsyncQueue<DeepPartial<AppendToStreamsResponse>>();
  /** Answers resolved together (a group commit resolves its appends at once) leave together. */
  private ready: DeepPartial<StreamedAppendResult>[] = [];
  private inFlight = 0;
  private reading = true;
  private freed: (() => void) | undefined;
  private wake: ((r: Next) => void) | undefined;
  // The server stopping ends the wait for the next request. (Not a Promise.race with one
  // long-lived "stopped" promise: every race leaves a reaction on it that holds the request it
  // resolved with, and the call lives as long as the client.)
  private readonly onStop = (): void => this.wake?.({ value: undefined, done: true });

  constructor(
    private readonly store: PgEventStore,
    private readonly appender: Appender,
    private readonly stopping: AbortSignal,
    private readonly signal: AbortSignal,
  ) {
    stopping.addEventListener('abort', this.onStop, { once: true });
  }

  private readonly flush = (): void => {
    const results = this.ready;
    this.ready = [];
    if (results.length > 0 && !this.answers.isEnded) this.answers.push({ results });
    if (!this.reading && this.inFlight === 0 && !this.answers.isEnded) this.answers.end();
  };

  private readonly answered = (result: DeepPartial<StreamedAppendResult>): void => {
    this.inFlight--;
    // A microtask: the other appends of the group resolve in the same turn, at the same depth,
    // so they are queued before it and leave in the same response.
    if (this.ready.length === 0) queueMicrotask(this.flush);
    this.ready.push(result);
    const f = this.freed;
    this.freed = undefined;
    f?.();
  };

  private nextRequest(it: AsyncIterator<AppendToStreamsRequest>): Promise<Next> {
    return new Promise((resolve, reject) => {
      if (this.stopping.aborted) return resolve({ value: undefined, done: true });
      this.wake = resolve;
      it.next().then(resolve, reject);
    });
  }

  async read(requests: AsyncIterable<AppendToStreamsRequest>): Promise<void> {
    const it = requests[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (this.inFlight >= STREAMED_APPENDS_IN_FLIGHT)
          await new Promise<void>((resolve) => (this.freed = resolve));
        const next = await this.nextRequest(it);
        this.wake = undefined;
        if (next.done) break;
        const appends = next.value.appends;
        this.inFlight += appends.length;
        this.store.together(() => {
          for (const a of appends)
            void this.appender.streamedAppend(a, this.signal).then(this.answered);
        });
      }
    } catch {
      // The client cancelled or the call broke: nobody is left to answer.
    } finally {
      this.stopping.removeEventListener('abort', this.onStop);
      this.reading = false;
      if (this.ready.length === 0) this.flush();
    }
  }
}

/** The AppendToStreams handler: one AppendStreamsCall per call. */
export const appendToStreams = (store: PgEventStore, appender: Appender, stopping: AbortSignal) =>
  async function* (
    requests: AsyncIterable<AppendToStreamsRequest>,
    ctx: CallContext,
  ): AsyncGenerator<DeepPartial<AppendToStreamsResponse>, void, undefined> {
    const call = new AppendStreamsCall(store, appender, stopping, ctx.signal);
    void call.read(requests);
    yield* call.answers;
  };
