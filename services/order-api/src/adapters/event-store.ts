import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { HealthCheckResponse_ServingStatus as ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { InvalidEventError, orderStreamId, parseStoredEvent } from '@orderflow/events';
import {
  ClientError,
  ExpectedVersion,
  Status,
  VersionConflict,
  appendEvents,
  createEventStoreClient,
  grpcEventStreams,
  isTransientGrpcError,
  type EventSourcing,
} from '@orderflow/platform';
import type { VersionedEvent } from '@orderflow/contracts';
import type { OrderEventsPort, StoredOrderCreated } from '../application/ports';
import type { OrderCreated } from '../domain/order';
import { fail } from '../domain/problems';

export const PRODUCER = 'order-api';

const isAbort = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';

/** The event store's answers, mapped once: down, busy or too slow is a 503 for the client. */
function mapError(err: unknown, orderId: string): unknown {
  if (isAbort(err) || isTransientGrpcError(err))
    return fail({ code: 'unavailable', dependency: 'event store', retryAfterSeconds: 2 });
  if (
    err instanceof VersionConflict ||
    (err instanceof ClientError && err.code === Status.ALREADY_EXISTS)
  ) {
    return fail({ code: 'order-conflict', orderId });
  }
  return err;
}

/** The order API's view of the event store: append `order-created`, read it back, check health. */
export class EventStoreGateway implements OrderEventsPort {
  private readonly store: ReturnType<typeof createEventStoreClient>;
  private readonly es: EventSourcing;
  private readonly healthChannel: ReturnType<typeof createChannel>;
  private readonly health;

  constructor(
    address: string,
    private readonly timeoutMs: number,
  ) {
    this.store = createEventStoreClient(address);
    this.es = { streams: grpcEventStreams(this.store.client), producer: PRODUCER };
    this.healthChannel = createChannel(address);
    this.health = createClient(HealthDefinition, this.healthChannel);
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }

  /** Appends `order-created` to a new stream; `duplicate` when this event id was stored before. */
  async appendOrderCreated(
    eventId: string,
    payload: OrderCreated,
    requestId: string,
  ): Promise<{ duplicate: boolean }> {
    try {
      return await appendEvents(
        this.es,
        orderStreamId(payload.orderId),
        ExpectedVersion.NoStream,
        [{ eventId, event: { type: 'order-created', data: payload } }],
        {
          cause: { correlationId: payload.orderId, causationId: requestId },
          signal: this.signal(),
        },
      );
    } catch (err: unknown) {
      // Two requests with one Idempotency-Key racing to create the stream: the loser sees a version
      // conflict, yet its event is the one stored. That is a duplicate, not a conflict.
      if (err instanceof VersionConflict) {
        const stored = await this.readOrderCreated(payload.orderId);
        if (stored?.eventId === eventId) return { duplicate: true };
      }
      throw mapError(err, payload.orderId);
    }
  }

  /** The order's `order-created` (version 0 of its stream), or undefined when there is no such order. */
  async readOrderCreated(orderId: string): Promise<StoredOrderCreated | undefined> {
    let events;
    try {
      ({ events } = await this.store.client.readStream(
        { streamId: orderStreamId(orderId), fromVersion: 0, maxCount: 1 },
        { signal: this.signal() },
      ));
    } catch (err: unknown) {
      throw mapError(err, orderId);
    }
    const first = events[0];
    if (!first || first.eventType !== 'order-created') return undefined;
    try {
      const e = parseStoredEvent(first.eventType, first.data, first.metadata);
      if (e.type !== 'order-created') return undefined;
      return { eventId: first.eventId, payload: e.data, createdAt: first.createdAt };
    } catch (err: unknown) {
      if (err instanceof InvalidEventError) return undefined;
      throw err;
    }
  }

  /** Every event of the order's stream this build knows, in version order (empty: no such order). */
  async readStream(orderId: string): Promise<VersionedEvent[]> {
    try {
      const history = await this.es.streams.read(orderStreamId(orderId), this.signal());
      return history.events.map((e) => ({
        version: e.version,
        createdAt: e.recordedAt,
        event: e.event,
      }));
    } catch (err: unknown) {
      throw mapError(err, orderId);
    }
  }

  /** Readiness: the event store's standard gRPC health service answers SERVING. */
  async check(): Promise<void> {
    const r = await this.health.check(
      { service: '' },
      { signal: AbortSignal.timeout(Math.min(this.timeoutMs, 1900)) },
    );
    if (r.status !== ServingStatus.SERVING) throw new Error(`event store health is ${r.status}`);
  }

  close(): void {
    this.store.close();
    this.healthChannel.close();
  }
}
