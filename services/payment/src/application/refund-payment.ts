import { orderStreamId, type EventOf } from '@orderflow/events';
import {
  ExpectedVersion,
  appendEvents,
  causeOf,
  type Envelope,
  type MessageOutcome,
} from '@orderflow/platform';
import { refundEvent, refundEventId } from '../domain/payment';
import type { PaymentPorts } from './ports';

/**
 * On `order-refund-requested`: credit the debit back once in one local transaction, then append
 * `order-payment-refunded`. A request for an order never debited is acked and ignored.
 */
export async function refundPayment(
  ports: PaymentPorts,
  cause: Envelope,
  request: EventOf<'order-refund-requested'>['data'],
): Promise<MessageOutcome> {
  const { orderId } = request;
  const decision = await ports.payments.refund(orderId);
  if (decision.kind === 'ignore') {
    ports.logger.warn({ orderId, reason: decision.reason }, 'refund request ignored');
    return 'ignored';
  }
  if (decision.kind === 'refund') {
    ports.metrics.refunds.inc();
    ports.metrics.refundedCents.inc(decision.refund.amount);
  }
  const r = await appendEvents(
    ports.eventSourcing,
    orderStreamId(orderId),
    ExpectedVersion.Any,
    [{ eventId: refundEventId(orderId), event: refundEvent(decision.refund) }],
    { cause: causeOf(cause) },
  );
  const replay = decision.kind === 'already-refunded';
  ports.logger.info({ orderId, replay, duplicate: r.duplicate }, 'refund recorded');
  return replay && r.duplicate ? 'duplicate' : 'handled';
}
