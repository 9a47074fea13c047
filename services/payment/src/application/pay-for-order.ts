import { orderStreamId, type EventOf } from '@orderflow/events';
import {
  ExpectedVersion,
  appendEvents,
  causeOf,
  type Envelope,
  type MessageOutcome,
} from '@orderflow/platform';
import { paymentEventId, paymentOutcomeEvent, type PaymentDecision } from '../domain/payment';
import type { PaymentPorts } from './ports';

function count(decision: PaymentDecision, metrics: PaymentPorts['metrics']): void {
  switch (decision.kind) {
    case 'debit':
      metrics.payments.inc({ outcome: 'debited' });
      metrics.debitedCents.inc(decision.payment.amount);
      return;
    case 'decline':
      metrics.payments.inc({ outcome: 'declined' });
      return;
    case 'already-recorded':
      return;
    default: {
      const never: never = decision;
      throw new Error(`unexpected decision ${JSON.stringify(never)}`);
    }
  }
}

/**
 * On `order-created`: debit or decline in one local transaction, then append the outcome. The
 * outcome is appended even when it was recorded before: a crash may have come between the local
 * commit and the append; its deterministic id makes a second append a no-op.
 */
export async function payForOrder(
  ports: PaymentPorts,
  cause: Envelope,
  order: EventOf<'order-created'>['data'],
): Promise<MessageOutcome> {
  const decision = await ports.payments.pay(
    { orderId: order.orderId, customerId: order.customerId, amount: order.amount },
    ports.defaultCreditCents(),
  );
  count(decision, ports.metrics);
  const p = decision.payment;
  const r = await appendEvents(
    ports.eventSourcing,
    orderStreamId(p.orderId),
    ExpectedVersion.Any,
    [{ eventId: paymentEventId(p.orderId), event: paymentOutcomeEvent(p) }],
    { cause: causeOf(cause) },
  );
  const replay = decision.kind === 'already-recorded';
  ports.logger.info(
    { orderId: p.orderId, outcome: p.outcome, replay, duplicate: r.duplicate },
    'payment decided',
  );
  return replay && r.duplicate ? 'duplicate' : 'handled';
}
