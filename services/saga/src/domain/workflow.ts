import {
  deterministicEventId,
  type CancellationReason,
  type EventOf,
  type RecordedOrderEvent,
  type RefundReason,
} from '@orderflow/events';

export type { RecordedOrderEvent } from '@orderflow/events';

/**
 * The saga as a workflow (STYLE.md habit 2, after emmett's `workflows/workflow.ts`): `evolve`
 * folds an order's events into the saga's state, `decide` turns that state and one input (an
 * event of the order, or a timeout tick) into outputs: events to append and the next deadline.
 * Pure: no I/O; the clock and the timeouts are parameters.
 */

export type TimeoutKind = 'payment' | 'restaurant';

export type SagaState =
  /** No `order-created` seen: nothing to follow. */
  | { status: 'New' }
  | { status: 'AwaitingPayment'; orderId: string; since: string }
  /** Declined: the saga owes the `order-cancelled`. */
  | { status: 'PaymentDeclined'; orderId: string }
  | { status: 'AwaitingRestaurant'; orderId: string; since: string }
  /** Paid, then rejected or timed out: refund first, cancel after the refund. */
  | {
      status: 'Compensating';
      orderId: string;
      reason: 'restaurant-rejected' | 'restaurant-timeout';
      refundRequested: boolean;
      refunded: boolean;
    }
  | { status: 'Approved'; orderId: string }
  | {
      status: 'Cancelled';
      orderId: string;
      reason: CancellationReason;
      /** A debit seen before or after the cancellation: the money must go back. */
      debited: boolean;
      refundRequested: boolean;
      refunded: boolean;
    };

export type SagaStatus = SagaState['status'];
/** Statuses that are persisted (an instance exists once `order-created` was seen). */
export type InstanceStatus = Exclude<SagaStatus, 'New'>;
export const instanceStatuses: readonly InstanceStatus[] = [
  'AwaitingPayment',
  'PaymentDeclined',
  'AwaitingRestaurant',
  'Compensating',
  'Approved',
  'Cancelled',
];
export const finalStatuses: ReadonlySet<SagaStatus> = new Set(['Approved', 'Cancelled']);
export const isFinal = (s: SagaState): boolean => finalStatuses.has(s.status);

export type SagaInput =
  | { type: 'event'; event: RecordedOrderEvent }
  /** The deadline of the wait the instance was in (`status`) has passed. */
  | { type: 'timeout'; status: InstanceStatus };

/** The events the saga appends. */
export type SagaEvent = EventOf<'order-refund-requested'> | EventOf<'order-cancelled'>;

/** The event id of a saga decision (docs/flow.md): one refund request and one cancellation per order. */
export function sagaEventId(event: SagaEvent): string {
  switch (event.type) {
    case 'order-refund-requested':
      return deterministicEventId('refund-requested', event.data.orderId);
    case 'order-cancelled':
      return deterministicEventId('cancelled', event.data.orderId);
    default: {
      const never: never = event;
      throw new Error(`unexpected saga event ${JSON.stringify(never)}`);
    }
  }
}

export type SagaOutput =
  | { action: 'Append'; event: SagaEvent }
  | { action: 'Schedule'; timeout: TimeoutKind; at: Date }
  | { action: 'Ignore'; reason: string };

export interface Timeouts {
  paymentTimeoutMs: number;
  restaurantTimeoutMs: number;
}

export const initialState = (): SagaState => ({ status: 'New' });

const assertNever = (x: never): never => {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
};

type Cancelled = Extract<SagaState, { status: 'Cancelled' }>;
type Compensating = Extract<SagaState, { status: 'Compensating' }>;
type StateOf<S extends SagaStatus> = Extract<SagaState, { status: S }>;

function fromAwaitingPayment(state: StateOf<'AwaitingPayment'>, r: RecordedOrderEvent): SagaState {
  const e = r.event;
  switch (e.type) {
    case 'order-payment-debited':
      return { status: 'AwaitingRestaurant', orderId: state.orderId, since: r.recordedAt };
    case 'order-payment-declined':
      return { status: 'PaymentDeclined', orderId: state.orderId };
    case 'order-cancelled':
      return cancelled(state.orderId, e.data.reason, false);
    case 'order-created':
    case 'order-approved':
    case 'order-rejected':
    case 'order-refund-requested':
    case 'order-payment-refunded':
      return state;
    default:
      return assertNever(e);
  }
}

function fromAwaitingRestaurant(
  state: StateOf<'AwaitingRestaurant'>,
  r: RecordedOrderEvent,
): SagaState {
  const e = r.event;
  switch (e.type) {
    case 'order-approved':
      return { status: 'Approved', orderId: state.orderId };
    case 'order-rejected':
      return compensating(state.orderId, 'restaurant-rejected', false);
    case 'order-refund-requested':
      return compensating(
        state.orderId,
        e.data.reason === 'restaurant-rejected' ? 'restaurant-rejected' : 'restaurant-timeout',
        true,
      );
    case 'order-cancelled':
      return cancelled(state.orderId, e.data.reason, true);
    case 'order-created':
    case 'order-payment-debited':
    case 'order-payment-declined':
    case 'order-payment-refunded':
      return state;
    default:
      return assertNever(e);
  }
}

function fromCompensating(state: Compensating, r: RecordedOrderEvent): SagaState {
  const e = r.event;
  switch (e.type) {
    case 'order-refund-requested':
      return { ...state, refundRequested: true };
    case 'order-payment-refunded':
      return { ...state, refunded: true };
    case 'order-cancelled':
      return {
        ...cancelled(state.orderId, e.data.reason, true),
        refundRequested: state.refundRequested,
        refunded: state.refunded,
      };
    // A late approval or rejection after a refund request changes nothing: no resurrection.
    case 'order-approved':
    case 'order-rejected':
    case 'order-created':
    case 'order-payment-debited':
    case 'order-payment-declined':
      return state;
    default:
      return assertNever(e);
  }
}

function fromCancelled(state: Cancelled, r: RecordedOrderEvent): SagaState {
  const e = r.event;
  switch (e.type) {
    case 'order-payment-debited':
      return { ...state, debited: true };
    case 'order-refund-requested':
      return { ...state, refundRequested: true };
    case 'order-payment-refunded':
      return { ...state, refunded: true };
    // Cancelled is final: a late approval, rejection or decline changes nothing.
    case 'order-created':
    case 'order-payment-declined':
    case 'order-approved':
    case 'order-rejected':
    case 'order-cancelled':
      return state;
    default:
      return assertNever(e);
  }
}

/** The next state after one event of the order. Events that change nothing return the state as it is. */
export function evolve(state: SagaState, recorded: RecordedOrderEvent): SagaState {
  const e = recorded.event;
  switch (state.status) {
    case 'New':
      return e.type === 'order-created'
        ? { status: 'AwaitingPayment', orderId: e.data.orderId, since: recorded.recordedAt }
        : state;
    case 'AwaitingPayment':
      return fromAwaitingPayment(state, recorded);
    case 'PaymentDeclined':
      return e.type === 'order-cancelled' ? cancelled(state.orderId, e.data.reason, false) : state;
    case 'AwaitingRestaurant':
      return fromAwaitingRestaurant(state, recorded);
    case 'Compensating':
      return fromCompensating(state, recorded);
    case 'Approved':
      return state;
    case 'Cancelled':
      return fromCancelled(state, recorded);
    default:
      return assertNever(state);
  }
}

const cancelled = (orderId: string, reason: CancellationReason, debited: boolean): Cancelled => ({
  status: 'Cancelled',
  orderId,
  reason,
  debited,
  refundRequested: false,
  refunded: false,
});

const compensating = (
  orderId: string,
  reason: Compensating['reason'],
  refundRequested: boolean,
): Compensating => ({
  status: 'Compensating',
  orderId,
  reason,
  refundRequested,
  refunded: false,
});

export const fold = (
  events: readonly RecordedOrderEvent[],
  from: SagaState = initialState(),
): SagaState => events.reduce(evolve, from);

const requestRefund = (orderId: string, reason: RefundReason): SagaOutput => ({
  action: 'Append',
  event: { type: 'order-refund-requested', data: { orderId, reason } },
});

const cancel = (orderId: string, reason: CancellationReason): SagaOutput => ({
  action: 'Append',
  event: { type: 'order-cancelled', data: { orderId, reason } },
});

/** A wait's deadline: from when the wait began (as recorded), or from now when that time is unknown. */
const deadline = (since: string, timeoutMs: number, now: Date): Date => {
  const t = Date.parse(since);
  return new Date((Number.isNaN(t) ? now.getTime() : t) + timeoutMs);
};

const wait = (timeout: TimeoutKind, at: Date): SagaOutput => ({ action: 'Schedule', timeout, at });

/** Refund first, cancel once the refund is in. */
const compensate = (state: Compensating): SagaOutput => {
  if (!state.refundRequested) return requestRefund(state.orderId, state.reason);
  if (state.refunded) return cancel(state.orderId, state.reason);
  return { action: 'Ignore', reason: 'waiting for the refund' };
};

/** A debit seen after the cancellation is refunded (once). */
const afterCancellation = (state: Cancelled): SagaOutput =>
  state.debited && !state.refundRequested
    ? requestRefund(state.orderId, 'late-debit')
    : { action: 'Ignore', reason: 'order cancelled' };

/**
 * What to do now. The decision rests on the state (the whole history of the order), so a
 * redelivered event or a repeated tick decides the same thing again, and the deterministic event
 * ids make the repeated append a no-op at the event store. A timeout acts only when the instance
 * is still in the wait the tick was set for; a stale tick is ignored.
 */
export function decide(
  state: SagaState,
  input: SagaInput,
  now: Date,
  timeouts: Timeouts,
): SagaOutput[] {
  const timedOut = input.type === 'timeout' && input.status === state.status;
  switch (state.status) {
    case 'New':
      return [{ action: 'Ignore', reason: 'no order-created in the stream' }];
    case 'AwaitingPayment':
      return timedOut
        ? [cancel(state.orderId, 'payment-timeout')]
        : [wait('payment', deadline(state.since, timeouts.paymentTimeoutMs, now))];
    case 'PaymentDeclined':
      return [cancel(state.orderId, 'payment-declined')];
    case 'AwaitingRestaurant':
      return timedOut
        ? [requestRefund(state.orderId, 'restaurant-timeout')]
        : [wait('restaurant', deadline(state.since, timeouts.restaurantTimeoutMs, now))];
    case 'Compensating':
      return [compensate(state)];
    case 'Approved':
      return [{ action: 'Ignore', reason: 'order approved' }];
    case 'Cancelled':
      return [afterCancellation(state)];
    default:
      return assertNever(state);
  }
}

/** The bounded label of a decision for `orderflow_saga_decisions_total`. */
export type DecisionLabel = 'request_refund' | 'cancel' | 'wait' | 'none';
export function decisionLabel(outputs: readonly SagaOutput[]): DecisionLabel {
  let label: DecisionLabel = 'none';
  for (const o of outputs) {
    switch (o.action) {
      case 'Append':
        return o.event.type === 'order-cancelled' ? 'cancel' : 'request_refund';
      case 'Schedule':
        label = 'wait';
        break;
      case 'Ignore':
        break;
      default:
        return assertNever(o);
    }
  }
  return label;
}
