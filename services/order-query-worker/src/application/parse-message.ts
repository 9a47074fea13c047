import { InvalidEventError, orderStreamId, parseEvent } from '@orderflow/events';
import { PoisonMessageError, type Envelope } from '@orderflow/platform';
import type { VersionedEvent } from '../domain/projection';

/**
 * Checks an envelope against the event catalogue and turns it into the projection's input. A
 * message that can never be projected (unknown type, unsupported schema version, bad payload, an
 * order id that does not match its stream) is a PoisonMessageError.
 */
export function toVersionedEvent(e: Envelope): { orderId: string; event: VersionedEvent } {
  let event;
  try {
    event = parseEvent(e.eventType, e.data, e.metadata);
  } catch (err: unknown) {
    if (err instanceof InvalidEventError) throw new PoisonMessageError(err.message);
    throw err;
  }
  const orderId = event.data.orderId;
  if (orderStreamId(orderId) !== e.streamId)
    throw new PoisonMessageError(`order id ${orderId} does not belong to stream ${e.streamId}`);
  return { orderId, event: { version: e.version, createdAt: e.createdAt, event } };
}
