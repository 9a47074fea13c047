import { isEventType, metadataKeys, orderStreamId, parseEvent } from '@orderflow/events';
import type { Envelope, MessageOutcome } from '@orderflow/platform';
import type { SagaInput } from '../domain/workflow';
import { advanceSaga } from './advance-saga';
import type { SagaPorts } from './ports';

/**
 * Every order event may move its order's saga on. The history known before the message, extended
 * by it, spares a read when it is exact (KnownHistories).
 */
export async function advanceOnEvent(
  ports: SagaPorts,
  envelope: Envelope,
): Promise<MessageOutcome> {
  if (!isEventType(envelope.eventType)) return 'ignored';
  const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
  const orderId = event.data.orderId;
  if (envelope.streamId !== orderStreamId(orderId)) return 'ignored';
  const recorded = {
    event,
    eventId: envelope.eventId,
    version: envelope.version,
    recordedAt: envelope.createdAt,
  };
  const input: SagaInput = { type: 'event', event: recorded };
  const known = ports.known.extend(orderId, recorded, envelope.metadata);
  return advanceSaga(
    ports,
    orderId,
    input,
    (history) => ({
      correlationId:
        history.lastCorrelationId ?? envelope.metadata[metadataKeys.correlationId] ?? orderId,
      causationId: envelope.eventId,
    }),
    known,
  );
}
