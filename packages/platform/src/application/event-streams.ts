import type { OrderEvent, RecordedOrderEvent } from '@orderflow/events';

/** Expected versions with a meaning of their own (the event store's, DESIGN §3). */
export const ExpectedVersion = { NoStream: -1, Any: -2 } as const;

/** An event a decision emits, with the id that makes appending it again a no-op. */
export interface EmittedEvent {
  eventId: string;
  event: OrderEvent;
}

/** An order's stream as read: the events the catalogue knows, and where the stream stands. */
export interface StreamHistory {
  events: RecordedOrderEvent[];
  /** The stream's last version (-1 when it does not exist): the expected version of the next append. */
  lastVersion: number;
  /** Id and correlation of the last event read (the cause of an append that no message caused). */
  lastEventId: string | undefined;
  lastCorrelationId: string | undefined;
  /** Stored events the catalogue does not know (left out of `events`). */
  skipped: number;
}

export const emptyHistory = (): StreamHistory => ({
  events: [],
  lastVersion: -1,
  lastEventId: undefined,
  lastCorrelationId: undefined,
  skipped: 0,
});

export interface AppendAnswer {
  /** True when every event was stored before: nothing was written. */
  duplicate: boolean;
  nextExpectedVersion: number;
}

/** The stream was not at the expected version: another writer got there first. */
export class VersionConflict extends Error {
  override name = 'VersionConflict';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    message = `stream ${streamId} is not at version ${expectedVersion}`,
  ) {
    super(message);
  }
}

/** The port every use case reads and appends order streams through. */
export interface EventStreams {
  read(streamId: string, signal?: AbortSignal): Promise<StreamHistory>;
  /** Appends at `expectedVersion`; throws VersionConflict when the stream is elsewhere. */
  append(
    streamId: string,
    expectedVersion: number,
    events: readonly EmittedEvent[],
    metadata: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<AppendAnswer>;
}
