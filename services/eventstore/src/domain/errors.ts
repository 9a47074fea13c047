/** Typed errors of the event store, mapped to gRPC status codes once, at the edge. */
export type StoreErrorCode =
  'invalid-argument' | 'version-conflict' | 'event-id-conflict' | 'unavailable';

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (field: string, problem: string): StoreError =>
  new StoreError('invalid-argument', `${field}: ${problem}`);

export class VersionConflictError extends StoreError {
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      'version-conflict',
      `version conflict on stream ${streamId}: expected version ${describeExpected(expected)}, actual version ${actual}`,
    );
  }
}

export function describeExpected(expected: number): string {
  if (expected === ExpectedVersion.NoStream) return '-1 (no stream)';
  if (expected === ExpectedVersion.Any) return '-2 (any)';
  return String(expected);
}

export const ExpectedVersion = { NoStream: -1, Any: -2 } as const;
