import type { Counter, Envelope, MessageOutcome } from '@orderflow/platform';
import { RetryLaterError } from '@orderflow/platform';
import type { VersionedEvent } from '../domain/projection';
import { toVersionedEvent } from './parse-message';

/** A gap is retried every 250 ms, up to 200 deliveries (about a minute), before it is dead-lettered. */
export const GAP_RETRY_DELAY_MS = 250;
export const GAP_MAX_DELIVER = 200;

export interface ProjectionPorts {
  orders: { apply(orderId: string, e: VersionedEvent): Promise<'applied' | 'duplicate' | 'gap'> };
  projected: Pick<Counter<'event_type' | 'result'>, 'inc'>;
  /** Observes the end-to-end latency of an order whose final state this applied. */
  observeApplied: (orderId: string, applied: Envelope) => Promise<void>;
  /**
   * Tells the live order feed that the order's row moved (best effort, never fails the message:
   * a reader that misses it fills the gap from the event store).
   */
  announce: (orderId: string, applied: VersionedEvent) => void;
}

/**
 * Every order event: project it into the read model when it is the next version, then announce
 * the new row on the live feed; a duplicate is acked, a gap retried later (docs/flow.md).
 */
export async function projectEvent(
  ports: ProjectionPorts,
  envelope: Envelope,
): Promise<MessageOutcome> {
  const { orderId, event } = toVersionedEvent(envelope);
  const result = await ports.orders.apply(orderId, event);
  ports.projected.inc({ event_type: event.event.type, result });
  switch (result) {
    case 'applied':
      ports.announce(orderId, event);
      await ports.observeApplied(orderId, envelope);
      return 'handled';
    case 'duplicate':
      return 'duplicate';
    case 'gap':
      throw new RetryLaterError(
        `gap: ${envelope.streamId} version ${envelope.version} is not next`,
        GAP_RETRY_DELAY_MS,
        GAP_MAX_DELIVER,
      );
    default: {
      const never: never = result;
      throw new Error(`unknown result ${String(never)}`);
    }
  }
}
