import { InvalidEventError, parseEvent } from '@orderflow/events';
import { PoisonMessageError, type Envelope } from './envelope';

/** The catalogue check of every message: one the catalogue rejects can never be handled (dead-letter it). */
export function validateOrderEnvelope(e: Envelope): void {
  try {
    parseEvent(e.eventType, e.data, e.metadata);
  } catch (err: unknown) {
    if (err instanceof InvalidEventError) throw new PoisonMessageError(err.message);
    throw err;
  }
}
