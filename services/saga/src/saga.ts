import { eventTypes, isEventType, orderStreamId, parseEvent } from '@orderflow/events';
import {
  RetryLaterError,
  counter,
  gauge,
  type Envelope,
  type Logger,
  type Outcome,
  type Registry,
} from '@orderflow/platform';
import type { OrderHistory, OrderStreams } from './adapters/order-stream';
import { VersionConflict } from './adapters/order-stream';
import type { DueInstance, SagaInstances } from './adapters/pg-instances';
import {
  decide,
  decisionLabel,
  fold,
  instanceStatuses,
  type InstanceStatus,
  type SagaInput,
  type SagaOutput,
  type SagaState,
  type Timeouts,
} from './domain/workflow';
import { KnownHistories } from './known-histories';

/** Read-decide-append rounds per message before it is handed back to JetStream to retry later. */
const MAX_ROUNDS = 6;

export interface SagaDeps {
  streams: OrderStreams;
  instances: SagaInstances;
  /** The current timeouts (environment, overridden by the runtime config). */
  timeouts: () => Timeouts;
  clock: () => Date;
  logger: Logger;
  registry: Registry;
}

/**
 * The saga's application service: for one order, read its stream, fold it, decide, append what
 * the decision says with the version it read, and record the instance's status and deadline.
 * A version conflict means another writer got there first: read again and decide again.
 */
export class Saga {
  private readonly decisions;
  private readonly approved;
  private readonly cancelled;
  private readonly timeoutsFired;
  private readonly conflicts;
  private readonly histories;
  private readonly known = new KnownHistories();

  constructor(private readonly deps: SagaDeps) {
    const { registry } = deps;
    this.decisions = counter(registry, {
      name: 'orderflow_saga_decisions_total',
      help: 'Saga decisions by kind: request_refund, cancel (appended), wait (a deadline is running), none.',
      labelNames: ['decision'] as const,
    });
    this.approved = counter(registry, {
      name: 'orderflow_orders_approved_total',
      help: 'Orders the saga saw reach Approved.',
    });
    this.cancelled = counter(registry, {
      name: 'orderflow_orders_cancelled_total',
      help: 'Orders the saga saw reach Cancelled, by cancellation reason.',
      labelNames: ['reason'] as const,
    });
    this.timeoutsFired = counter(registry, {
      name: 'orderflow_saga_timeouts_total',
      help: 'Timeouts that made the saga act, by kind (payment, restaurant).',
      labelNames: ['kind'] as const,
    });
    this.conflicts = counter(registry, {
      name: 'orderflow_saga_version_conflicts_total',
      help: 'Saga appends refused because the stream moved on (read again and decide again).',
    });
    this.histories = counter(registry, {
      name: 'orderflow_saga_histories_total',
      help: 'Order histories the saga decided on, by source: known (the one it had, extended by the message) or read (ReadStream).',
      labelNames: ['source'] as const,
    });
    const instances = deps.instances;
    gauge(registry, {
      name: 'orderflow_saga_instances',
      help: 'Saga instances by state (from the saga_instances table, read at scrape).',
      labelNames: ['state'] as const,
      async collect() {
        const counts = await instances.countByState();
        for (const s of instanceStatuses) this.set({ state: s }, counts.get(s) ?? 0);
      },
    });
    gauge(registry, {
      name: 'orderflow_saga_oldest_in_flight_age_seconds',
      help: 'Age of the oldest order not yet Approved or Cancelled (0 when none).',
      async collect() {
        this.set(await instances.oldestInFlightAgeSeconds());
      },
    });
  }

  /** The consumer's handler: every order event may move an order's saga on. */
  async handleEvent(envelope: Envelope): Promise<Outcome> {
    if (!isEventType(envelope.eventType)) return 'ignored';
    const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
    const orderId = event.data.orderId;
    if (envelope.streamId !== orderStreamId(orderId)) return 'ignored';
    const input: SagaInput = {
      type: 'event',
      event: {
        event,
        eventId: envelope.eventId,
        version: envelope.version,
        recordedAt: envelope.createdAt,
      },
    };
    return this.run(orderId, input, envelope.metadata);
  }

  /** A due deadline that this replica claimed. */
  async handleTimeout(row: DueInstance): Promise<Outcome> {
    return this.run(row.orderId, { type: 'timeout', status: row.state });
  }

  /**
   * The order's history for this round: the known one extended by the message when that is
   * exact (KnownHistories), else a read of the whole stream (always after a conflict, and for a timeout).
   */
  private async history(
    orderId: string,
    input: SagaInput,
    round: number,
    metadata: Record<string, string> | undefined,
  ): Promise<OrderHistory> {
    const known =
      round === 1 && input.type === 'event' && metadata
        ? this.known.extend(orderId, input.event, metadata)
        : undefined;
    this.histories.inc({ source: known ? 'known' : 'read' });
    const history = known ?? (await this.deps.streams.read(orderId));
    this.known.remember(orderId, history);
    return history;
  }

  private async run(
    orderId: string,
    input: SagaInput,
    metadata?: Record<string, string>,
  ): Promise<Outcome> {
    const { streams, logger } = this.deps;
    let appended = false;
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const history = await this.history(orderId, input, round, metadata);
      if (history.skipped > 0)
        logger.warn(
          { orderId, skipped: history.skipped },
          'stream holds events the catalogue does not know; left out',
        );
      const state = fold(history.events);
      const outputs = decide(state, input, this.deps.clock(), this.deps.timeouts());
      const toAppend = outputs.flatMap((o) => (o.action === 'Append' ? [o.event] : []));
      if (toAppend.length === 0) {
        if (state.status === 'New') return 'ignored';
        if (!appended) this.decisions.inc({ decision: decisionLabel(outputs) });
        await this.record(orderId, state, outputs, history.lastVersion);
        // A final order rarely hears of again: leave room for the ones in flight.
        if (state.status === 'Approved' || state.status === 'Cancelled') this.known.forget(orderId);
        return appended ? 'handled' : 'duplicate';
      }
      try {
        const r = await streams.append(orderId, history.lastVersion, toAppend, {
          eventId: input.type === 'event' ? input.event.eventId : history.lastEventId,
          correlationId: history.lastCorrelationId,
        });
        // The stream now holds what was appended: the next round reads it.
        this.known.forget(orderId);
        if (!r.duplicate) {
          appended = true;
          this.decisions.inc({ decision: decisionLabel(outputs) });
          if (input.type === 'timeout' && input.status === state.status)
            this.timeoutsFired.inc({
              kind: state.status === 'AwaitingPayment' ? 'payment' : 'restaurant',
            });
          logger.info(
            { orderId, appended: toAppend.map((e) => e.type), input: input.type },
            'saga decided',
          );
        }
      } catch (err: unknown) {
        if (!(err instanceof VersionConflict)) throw err;
        this.conflicts.inc();
        logger.debug({ orderId, round }, 'version conflict; reading again');
      }
      // Read again: the next round sees what was appended (by us or by whoever won) and records it.
    }
    throw new RetryLaterError(
      `order ${orderId}: the stream kept moving for ${MAX_ROUNDS} rounds`,
      200,
    );
  }

  private async record(
    orderId: string,
    state: Exclude<SagaState, { status: 'New' }>,
    outputs: SagaOutput[],
    lastVersion: number,
  ): Promise<void> {
    const schedule = outputs.find((o) => o.action === 'Schedule');
    const status: InstanceStatus = state.status;
    const r = await this.deps.instances.record(
      orderId,
      status,
      schedule?.action === 'Schedule' ? schedule.at : null,
      lastVersion,
    );
    if (!r.applied || r.previous === status) return;
    if (state.status === 'Approved') this.approved.inc();
    if (state.status === 'Cancelled') this.cancelled.inc({ reason: state.reason });
  }
}

export const sagaEventTypes: readonly string[] = eventTypes;
