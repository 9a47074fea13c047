import { parseEvent } from '@orderflow/events';
import type { Envelope, MessageOutcome } from '@orderflow/platform';
import { payForOrder } from './pay-for-order';
import type { PaymentPorts } from './ports';
import { refundPayment } from './refund-payment';

/** The payment consumer's handler: each message to its use case. */
export const paymentHandler =
  (ports: PaymentPorts) =>
  async (envelope: Envelope): Promise<MessageOutcome> => {
    const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
    switch (event.type) {
      case 'order-created':
        return payForOrder(ports, envelope, event.data);
      case 'order-refund-requested':
        return refundPayment(ports, envelope, event.data);
      case 'order-payment-debited':
      case 'order-payment-declined':
      case 'order-approved':
      case 'order-rejected':
      case 'order-payment-refunded':
      case 'order-cancelled':
        return 'ignored';
      default: {
        const never: never = event;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };
