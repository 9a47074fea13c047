import type { RecordedOrderEvent } from '@orderflow/events';
import { RetryLaterError } from '../envelope';
import {
  ExpectedVersion,
  VersionConflict,
  emptyHistory,
  type EmittedEvent,
  type EventStreams,
  type StreamHistory,
} from './event-streams';
import { eventMetadata, type Cause } from './metadata';

/**
 * A decider (STYLE.md habit 1, after emmett's): `evolve` folds the stream into a state, `decide`
 * turns a command and that state into the events to append and a result for the caller. `decide`
 * may await a port (a look-up in the service's own tables); it must not append anything itself.
 */
export interface Decider<Command, State, Result> {
  initialState: () => State;
  evolve: (state: State, event: RecordedOrderEvent) => State;
  decide: (command: Command, state: State) => Decision<Result> | Promise<Decision<Result>>;
}

export interface Decision<Result> {
  append: EmittedEvent[];
  result: Result;
}

/** Where a use case appends: the streams port, and the name it signs its events with. */
export interface EventSourcing {
  streams: EventStreams;
  producer: string;
}

/** The one retry policy of a version conflict: read again at once, then hand back to JetStream. */
export const versionConflictRetry = { maxAttempts: 6, retryLaterMs: 200 } as const;

export interface CommandOptions {
  /**
   * `read` (the default): read the stream, fold it, decide, and append at the version read; a
   * conflict reads again. `NoStream` or `Any`: decide on the initial state and append without
   * reading; a conflict is the caller's (VersionConflict).
   */
  expectedVersion?: 'read' | typeof ExpectedVersion.NoStream | typeof ExpectedVersion.Any;
  /** The cause of what is appended; a function when it depends on the history read. */
  cause: Cause | ((history: StreamHistory) => Cause);
  /** A history already known for the first attempt (no read); later attempts always read. */
  known?: StreamHistory | undefined;
  onHistory?: (history: StreamHistory, source: 'known' | 'read') => void;
  onConflict?: (attempt: number, conflict: VersionConflict) => void;
  signal?: AbortSignal;
}

export interface CommandOutcome<State, Result> {
  result: Result;
  /** The history decided on (before the append). */
  history: StreamHistory;
  /** The state decided on, evolved by what was appended when that was written now. */
  state: State;
  /** What the decision appended (empty: nothing to append). */
  appended: readonly EmittedEvent[];
  /** True when the store held every appended event already: nothing was written. */
  duplicate: boolean;
  nextExpectedVersion: number;
}

const fold = <S>(
  d: Decider<never, S, unknown>,
  events: readonly RecordedOrderEvent[],
  from: S,
): S => events.reduce(d.evolve, from);

async function historyFor(
  es: EventSourcing,
  streamId: string,
  attempt: number,
  opts: CommandOptions,
): Promise<StreamHistory> {
  if ((opts.expectedVersion ?? 'read') !== 'read') return emptyHistory();
  const known = attempt === 1 ? opts.known : undefined;
  const history = known ?? (await es.streams.read(streamId, opts.signal));
  opts.onHistory?.(history, known ? 'known' : 'read');
  return history;
}

/** The appended events as the stream now holds them (their commit time is the store's to know). */
const recordedUpTo = (last: number, events: readonly EmittedEvent[]): RecordedOrderEvent[] =>
  events.map((e, i) => ({
    event: e.event,
    eventId: e.eventId,
    version: last - events.length + 1 + i,
    recordedAt: '',
  }));

/**
 * The one read / fold / decide / append-at-the-expected-version loop (emmett's
 * handleCommandWithDecider): every service that appends goes through it, so the retry policy,
 * the typed VersionConflict and the event metadata live in one place. Handlers stay idempotent:
 * emitted events carry deterministic ids, so a repeated append answers `duplicate`.
 */
export async function handleCommand<Command, State, Result>(
  es: EventSourcing,
  streamId: string,
  command: Command,
  decider: Decider<Command, State, Result>,
  opts: CommandOptions,
): Promise<CommandOutcome<State, Result>> {
  const mode = opts.expectedVersion ?? 'read';
  for (let attempt = 1; attempt <= versionConflictRetry.maxAttempts; attempt++) {
    const history = await historyFor(es, streamId, attempt, opts);
    const state = fold(decider, history.events, decider.initialState());
    const { append, result } = await decider.decide(command, state);
    const base = { result, history, state, appended: append, duplicate: false };
    if (append.length === 0) return { ...base, nextExpectedVersion: history.lastVersion };
    const cause = typeof opts.cause === 'function' ? opts.cause(history) : opts.cause;
    const expected = mode === 'read' ? history.lastVersion : mode;
    try {
      const r = await es.streams.append(
        streamId,
        expected,
        append,
        eventMetadata(cause, es.producer),
        opts.signal,
      );
      const after = r.duplicate
        ? state
        : fold(decider, recordedUpTo(r.nextExpectedVersion, append), state);
      return {
        ...base,
        state: after,
        duplicate: r.duplicate,
        nextExpectedVersion: r.nextExpectedVersion,
      };
    } catch (err: unknown) {
      if (!(err instanceof VersionConflict) || mode !== 'read') throw err;
      opts.onConflict?.(attempt, err);
    }
  }
  throw new RetryLaterError(
    `${streamId} kept moving for ${versionConflictRetry.maxAttempts} attempts`,
    versionConflictRetry.retryLaterMs,
  );
}

const nothing: Decider<readonly EmittedEvent[], null, null> = {
  initialState: () => null,
  evolve: (s) => s,
  decide: (events) => ({ append: [...events], result: null }),
};

/**
 * Appends events decided elsewhere (a local transaction, a request) through the same loop: the
 * same metadata, the same VersionConflict.
 */
export async function appendEvents(
  es: EventSourcing,
  streamId: string,
  expectedVersion: typeof ExpectedVersion.NoStream | typeof ExpectedVersion.Any,
  events: readonly EmittedEvent[],
  opts: Omit<CommandOptions, 'expectedVersion' | 'known' | 'onHistory' | 'onConflict'>,
): Promise<{ duplicate: boolean; nextExpectedVersion: number }> {
  const r = await handleCommand(es, streamId, events, nothing, { ...opts, expectedVersion });
  return { duplicate: r.duplicate, nextExpectedVersion: r.nextExpectedVersion };
}
