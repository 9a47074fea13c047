import { ServerError, Status } from 'nice-grpc';
import { RetriesExhaustedError } from '@orderflow/platform';
import { StoreError, type StoreErrorCode } from '../domain/errors';

const statusOf: Record<StoreErrorCode, Status> = {
  'invalid-argument': Status.INVALID_ARGUMENT,
  'version-conflict': Status.FAILED_PRECONDITION,
  'event-id-conflict': Status.ALREADY_EXISTS,
  unavailable: Status.UNAVAILABLE,
};

/** Maps the store's typed errors to gRPC status, once, at the edge. */
export function toServerError(err: unknown): unknown {
  if (err instanceof StoreError) return new ServerError(statusOf[err.code], err.message);
  if (err instanceof RetriesExhaustedError)
    return new ServerError(Status.ABORTED, 'transaction contention; retry');
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const code = (err as { code: string }).code;
    // Connection failures and admin shutdowns: the database is unavailable for now.
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|57P0[1-3]|08\d\d\d)$/.test(code))
      return new ServerError(Status.UNAVAILABLE, 'database unavailable');
    // Class 22 (data exception): a value validation let through that the database cannot store.
    if (/^22[0-9A-Z]{3}$/.test(code))
      return new ServerError(Status.INVALID_ARGUMENT, 'a value in the request cannot be stored');
  }
  if (
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)
  )
    return new ServerError(Status.UNAVAILABLE, 'database unavailable');
  return err;
}
