import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  SCHEMA_VERSION,
  deterministicEventId,
  metadataKeys,
  orderStreamId,
  type EventType,
  type OrderEvent,
} from '@orderflow/events';
import { createLogger, jsManager } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { waitFor } from '@orderflow/testkit';
import pg from 'pg';
import { startServiceWithStore, type ServiceWithStore } from '../../eventstore/test/harness';
import { start, type SagaApp } from '../src/app';
import { configSchema } from '../src/config';

export interface SagaUnderTest extends ServiceWithStore<SagaApp> {
  nc: NatsConnection;
  db: pg.Pool;
}

/** nats-server, the real event store and the saga, in-process on free ports; the test plays payment and restaurant. */
export async function startSaga(overrides: Record<string, string> = {}): Promise<SagaUnderTest> {
  const base = await startServiceWithStore(
    'saga',
    (env) => start(configSchema.parse(env), createLogger('saga', 'silent')),
    {
      env: { TIMEOUT_SCAN_INTERVAL_MS: '100', ...overrides },
      storeEnv: { RELAY_INTERVAL_MS: '200', RELAY_GRACE_MS: '500' },
    },
  );
  const nc = await connect({ servers: base.nats.url });
  const db = new pg.Pool({ connectionString: base.databaseUrl, max: 2 });
  return {
    ...base,
    nc,
    db,
    async stop() {
      await db.end();
      await nc.close();
      await base.stop();
    },
  };
}

const meta = (orderId: string, producer: string) => ({
  [metadataKeys.correlationId]: orderId,
  [metadataKeys.schemaVersion]: SCHEMA_VERSION,
  [metadataKeys.producer]: producer,
});

/** Plays the other services: appends their events the way docs/flow.md says they do. */
export function actors(client: EventStoreClient) {
  const append = (
    orderId: string,
    expectedVersion: number,
    eventId: string,
    e: OrderEvent,
    producer: string,
  ) =>
    client.appendToStream({
      streamId: orderStreamId(orderId),
      expectedVersion,
      events: [
        {
          eventId,
          eventType: e.type,
          data: JSON.stringify(e.data),
          metadata: meta(orderId, producer),
        },
      ],
    });
  return {
    async createOrder(orderId: string = randomUUID()): Promise<string> {
      await append(
        orderId,
        -1,
        randomUUID(),
        {
          type: 'order-created',
          data: {
            orderId,
            customerId: 'c-1',
            restaurantId: 'trattoria',
            items: [{ code: 'm', name: 'Margherita', unitPrice: 900, quantity: 1 }],
            amount: 900,
          },
        },
        'order-api',
      );
      return orderId;
    },
    debit: (orderId: string) =>
      append(
        orderId,
        -2,
        deterministicEventId('payment', orderId),
        {
          type: 'order-payment-debited',
          data: {
            orderId,
            customerId: 'c-1',
            amount: 900,
            paymentId: deterministicEventId('payment-id', orderId),
          },
        },
        'payment',
      ),
    decline: (orderId: string) =>
      append(
        orderId,
        -2,
        deterministicEventId('payment', orderId),
        {
          type: 'order-payment-declined',
          data: { orderId, customerId: 'c-1', amount: 900, reason: 'insufficient funds' },
        },
        'payment',
      ),
    approve: (orderId: string) =>
      append(
        orderId,
        -2,
        deterministicEventId('restaurant-decision', orderId),
        { type: 'order-approved', data: { orderId, restaurantId: 'trattoria' } },
        'restaurant',
      ),
    reject: (orderId: string) =>
      append(
        orderId,
        -2,
        deterministicEventId('restaurant-decision', orderId),
        {
          type: 'order-rejected',
          data: { orderId, restaurantId: 'trattoria', reason: 'closed' },
        },
        'restaurant',
      ),
    refund: (orderId: string) =>
      append(
        orderId,
        -2,
        deterministicEventId('refund', orderId),
        {
          type: 'order-payment-refunded',
          data: {
            orderId,
            customerId: 'c-1',
            amount: 900,
            paymentId: deterministicEventId('payment-id', orderId),
          },
        },
        'payment',
      ),
  };
}

import { readOrderStream as readStream } from '../../eventstore/test/harness';

export { readStream };

export function countByType(events: RecordedEvent[]): Partial<Record<EventType, number>> {
  const out: Partial<Record<EventType, number>> = {};
  for (const e of events) out[e.eventType as EventType] = (out[e.eventType as EventType] ?? 0) + 1;
  return out;
}

/** Waits until the order's stream holds an event of `type`, and returns the stream. */
export async function waitForEvent(
  client: EventStoreClient,
  orderId: string,
  type: EventType,
  timeoutMs = 15_000,
): Promise<RecordedEvent[]> {
  return waitFor(
    `${type} in order-${orderId}`,
    async () => {
      const events = await readStream(client, orderId);
      return events.some((e) => e.eventType === type) ? events : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** Waits until the saga consumer has nothing pending and nothing unacknowledged. */
export async function waitForIdleConsumer(
  nc: NatsConnection,
  stream = 'ORDERS',
  durable = 'saga',
): Promise<void> {
  const jsm = await jsManager(nc);
  await waitFor(
    'the saga consumer to be idle',
    async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

export async function instance(
  db: pg.Pool,
  orderId: string,
): Promise<{ state: string; deadline: Date | null } | undefined> {
  const r = await db.query<{ state: string; deadline: Date | null }>(
    'SELECT state, deadline FROM saga_instances WHERE order_id = $1',
    [orderId],
  );
  return r.rows[0];
}
