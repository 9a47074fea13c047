import { orderStreamId } from '@orderflow/events';
import {
  handleCommand,
  type Cause,
  type CommandOutcome,
  type Decider,
  type MessageOutcome,
  type StreamHistory,
} from '@orderflow/platform';
import {
  decide,
  decisionLabel,
  evolve,
  initialState,
  sagaEventId,
  type SagaInput,
  type SagaOutput,
  type SagaState,
} from '../domain/workflow';
import type { SagaPorts } from './ports';

/** What the saga decided, and the status it decided in. */
interface Decided {
  outputs: SagaOutput[];
  status: SagaState['status'];
}
type Outcome = CommandOutcome<SagaState, Decided>;

/** The saga's workflow as a decider: what to append now, and the outputs it decided. */
const decider = (ports: SagaPorts): Decider<SagaInput, SagaState, Decided> => ({
  initialState,
  evolve,
  decide: (input, state) => {
    const outputs = decide(state, input, ports.clock(), ports.timeouts());
    const append = outputs.flatMap((o) =>
      o.action === 'Append' ? [{ eventId: sagaEventId(o.event), event: o.event }] : [],
    );
    return { append, result: { outputs, status: state.status } };
  },
});

/** Records the instance's status and the deadline its outputs set, as of the stream's `version`. */
async function record(
  ports: SagaPorts,
  orderId: string,
  state: SagaState,
  outputs: readonly SagaOutput[],
  version: number,
) {
  if (state.status === 'New') return;
  const schedule = outputs.find((o) => o.action === 'Schedule');
  const r = await ports.instances.record(
    orderId,
    state.status,
    schedule?.action === 'Schedule' ? schedule.at : null,
    version,
  );
  if (!r.applied || r.previous === state.status) return;
  if (state.status === 'Approved') ports.metrics.approved.inc();
  if (state.status === 'Cancelled') ports.metrics.cancelled.inc({ reason: state.reason });
}

function reportAppend(ports: SagaPorts, orderId: string, input: SagaInput, r: Outcome): void {
  const before = r.result.status;
  ports.metrics.decisions.inc({ decision: decisionLabel(r.result.outputs) });
  if (input.type === 'timeout' && input.status === before)
    ports.metrics.timeoutsFired.inc({
      kind: before === 'AwaitingPayment' ? 'payment' : 'restaurant',
    });
  ports.logger.info(
    { orderId, appended: r.appended.map((e) => e.event.type), input: input.type },
    'saga decided',
  );
}

/**
 * Moves one order's saga on: fold its history (the one known, else a read), decide, append what
 * the decision says at the version read (a conflict reads again), and record the instance's
 * status and deadline. `known` is the history the message extended, when it did.
 */
export async function advanceSaga(
  ports: SagaPorts,
  orderId: string,
  input: SagaInput,
  cause: (history: StreamHistory) => Cause,
  known?: StreamHistory,
): Promise<MessageOutcome> {
  const r = await handleCommand(
    ports.eventSourcing,
    orderStreamId(orderId),
    input,
    decider(ports),
    {
      cause,
      known,
      onHistory: (history, source) => {
        ports.metrics.histories.inc({ source });
        ports.known.remember(orderId, history);
        if (history.skipped > 0)
          ports.logger.warn(
            { orderId, skipped: history.skipped },
            'stream holds events the catalogue does not know; left out',
          );
      },
      onConflict: (attempt) => {
        ports.metrics.conflicts.inc();
        ports.logger.debug({ orderId, attempt }, 'version conflict; reading again');
      },
    },
  );
  if (r.state.status === 'New') return 'ignored';
  if (r.appended.length === 0) {
    ports.metrics.decisions.inc({ decision: decisionLabel(r.result.outputs) });
    await record(ports, orderId, r.state, r.result.outputs, r.history.lastVersion);
    // A final order rarely hears of again: leave room for the ones in flight.
    if (r.state.status === 'Approved' || r.state.status === 'Cancelled')
      ports.known.forget(orderId);
    return 'duplicate';
  }
  // The stream now holds what was appended: the next message reads it.
  ports.known.forget(orderId);
  if (r.duplicate) return 'duplicate';
  reportAppend(ports, orderId, input, r);
  // What the saga decides on the stream it just wrote (a wait to schedule, or nothing).
  const next = decide(r.state, input, ports.clock(), ports.timeouts());
  await record(ports, orderId, r.state, next, r.nextExpectedVersion);
  return 'handled';
}
