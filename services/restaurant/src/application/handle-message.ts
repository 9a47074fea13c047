import { parseEvent } from '@orderflow/events';
import type { Envelope, MessageOutcome } from '@orderflow/platform';
import { decideOrder } from './decide-order';
import type { RestaurantPorts } from './ports';

/** The restaurant consumer's handler: each message to its use case. */
export const restaurantHandler =
  (ports: RestaurantPorts) =>
  async (envelope: Envelope): Promise<MessageOutcome> => {
    const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
    switch (event.type) {
      case 'order-payment-debited':
        return decideOrder(ports, envelope, event.data);
      case 'order-created':
      case 'order-payment-declined':
      case 'order-approved':
      case 'order-rejected':
      case 'order-refund-requested':
      case 'order-payment-refunded':
      case 'order-cancelled':
        return 'ignored';
      default: {
        const never: never = event;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };
