import type { StoreError } from '../../domain/errors';
import type { RecordedEvent } from '../../domain/append';

export interface AppendResult {
  nextExpectedVersion: number;
  /** True when every event already existed: nothing was written. */
  duplicate: boolean;
  /** The events this call wrote (empty for a duplicate). */
  recorded: RecordedEvent[];
}

export interface ReadResult {
  events: RecordedEvent[];
  lastVersion: number;
}

/** What the checked transaction decided for one append: a result, or its own typed error. */
export type GroupOutcome = { ok: true; result: AppendResult } | { ok: false; error: StoreError };
