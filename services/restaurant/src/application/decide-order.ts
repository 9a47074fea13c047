import { orderStreamId, type EventOf } from '@orderflow/events';
import {
  RetryLaterError,
  causeOf,
  handleCommand,
  type Decider,
  type Envelope,
  type MessageOutcome,
} from '@orderflow/platform';
import {
  assessState,
  decide,
  decisionEvent,
  decisionEventId,
  evolve,
  initialOrderSoFar,
  type Assessment,
  type Decision,
  type OrderSoFar,
  type OrderToDecide,
} from '../domain/decide';
import type { RestaurantPorts } from './ports';

type Verdict =
  | Exclude<Assessment, { kind: 'decide' | 'no-order' }>
  | { kind: 'decided'; order: OrderToDecide; decision: Decision };

/** The restaurant's decider: its menu is looked up once the stream named the restaurant. */
const decider = (ports: RestaurantPorts): Decider<string, OrderSoFar, Verdict> => ({
  initialState: initialOrderSoFar,
  evolve,
  async decide(streamId, state) {
    const a = assessState(state);
    switch (a.kind) {
      case 'no-order':
        throw new RetryLaterError(`${streamId} has no order-created`);
      case 'decide': {
        const d = decide(a.order, await ports.restaurants.restaurant(a.order.restaurantId));
        const event = {
          eventId: decisionEventId(a.order.orderId),
          event: decisionEvent(a.order, d),
        };
        return { append: [event], result: { kind: 'decided', order: a.order, decision: d } };
      }
      case 'already-decided':
      case 'too-late':
        return { append: [], result: a };
      default: {
        const never: never = a;
        throw new Error(`unknown assessment ${JSON.stringify(never)}`);
      }
    }
  },
});

/**
 * On `order-payment-debited`: read the order's stream, decide against the menu as it is now, and
 * append the decision at the version read. A conflict reads again: if the saga refunded or
 * cancelled the order meanwhile, no approval follows (docs/flow.md).
 */
export async function decideOrder(
  ports: RestaurantPorts,
  cause: Envelope,
  debited: EventOf<'order-payment-debited'>['data'],
): Promise<MessageOutcome> {
  const { orderId } = debited;
  const streamId = orderStreamId(orderId);
  const { restaurants, metrics, logger } = ports;
  const r = await handleCommand(ports.eventSourcing, streamId, streamId, decider(ports), {
    cause: causeOf(cause),
    onConflict: () => metrics.conflicts.inc(),
  });
  const v = r.result;
  switch (v.kind) {
    case 'already-decided':
      await restaurants.record(orderId, v.restaurantId, v.decision);
      return 'duplicate';
    case 'too-late':
      await restaurants.record(orderId, v.restaurantId, {
        decision: 'skipped',
        reason: `${v.because} before a decision`,
      });
      metrics.skipped.inc();
      logger.info(
        { orderId, because: v.because },
        'order not decided: the saga gave up on it first',
      );
      return 'ignored';
    case 'decided': {
      const { order, decision } = v;
      await restaurants.record(orderId, order.restaurantId, decision);
      if (!r.duplicate) metrics.decisions.inc({ decision: decision.decision });
      logger.info(
        {
          orderId,
          restaurantId: order.restaurantId,
          decision: decision.decision,
          duplicate: r.duplicate,
        },
        'order decided',
      );
      return r.duplicate ? 'duplicate' : 'handled';
    }
    default: {
      const never: never = v;
      throw new Error(`unknown verdict ${JSON.stringify(never)}`);
    }
  }
}
