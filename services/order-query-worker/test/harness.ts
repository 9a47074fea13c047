import { randomUUID } from 'node:crypto';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { orderStreamId, type OrderEvent } from '@orderflow/events';
import { createLogger, type Envelope } from '@orderflow/platform';
import { freshDatabase, startNats, type NatsServer } from '@orderflow/testkit';
import { start, type QueryWorkerApp } from '../src/app';
import { configSchema, type Config } from '../src/config';

export interface WorkersUnderTest {
  workers: QueryWorkerApp[];
  nats: NatsServer;
  nc: NatsConnection;
  config: Config;
  publish(e: Envelope | Uint8Array, eventType?: string): Promise<number>;
  stop(): Promise<void>;
}

/** A nats-server and `replicas` query workers in-process, sharing one database and the durable consumer. */
export async function startWorkers(replicas: number): Promise<WorkersUnderTest> {
  const nats = await startNats();
  const config = configSchema.parse({
    DATABASE_URL: await freshDatabase('query'),
    NATS_URL: nats.url,
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    CONSUMER_CONCURRENCY: '8',
    DATABASE_POOL_MAX: '4',
  });
  const workers: QueryWorkerApp[] = [];
  for (let i = 0; i < replicas; i++)
    workers.push(await start(config, createLogger('order-query-worker', 'silent')));
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  return {
    workers,
    nats,
    nc,
    config,
    async publish(e, eventType) {
      const h = headers();
      const type = e instanceof Uint8Array ? (eventType ?? 'unknown') : e.eventType;
      h.set('Orderflow-Event-Type', type);
      const body = e instanceof Uint8Array ? e : Buffer.from(JSON.stringify(e));
      return (
        await js.publish(`orderflow.events.${type}`, body, { msgID: randomUUID(), headers: h })
      ).seq;
    },
    async stop() {
      await nc.close();
      for (const w of workers) await w.stop();
      await nats.stop();
    },
  };
}

const base = Date.parse('2026-03-01T12:00:00.000Z');

/** The envelope of an order's event at a version, as the event store would publish it. */
export const envelope = (
  orderId: string,
  version: number,
  event: OrderEvent,
  metadata: Record<string, string> = {},
): Envelope => ({
  eventId: randomUUID(),
  eventType: event.type,
  streamId: orderStreamId(orderId),
  version,
  data: event.data,
  metadata,
  createdAt: new Date(base + version * 1000).toISOString(),
});

/** The events of one order along one of the three paths the flow knows. */
export function orderStory(
  orderId: string,
  path: 'approved' | 'declined' | 'rejected',
): OrderEvent[] {
  const customerId = `c-${orderId.slice(0, 8)}`;
  const paymentId = randomUUID();
  const created: OrderEvent = {
    type: 'order-created',
    data: {
      orderId,
      customerId,
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 1 }],
      amount: 1250,
    },
  };
  const debited: OrderEvent = {
    type: 'order-payment-debited',
    data: { orderId, customerId, amount: 1250, paymentId },
  };
  switch (path) {
    case 'approved':
      return [
        created,
        debited,
        { type: 'order-approved', data: { orderId, restaurantId: 'trattoria' } },
      ];
    case 'declined':
      return [
        created,
        {
          type: 'order-payment-declined',
          data: { orderId, customerId, amount: 1250, reason: 'insufficient credit' },
        },
        { type: 'order-cancelled', data: { orderId, reason: 'payment-declined' } },
      ];
    case 'rejected':
      return [
        created,
        debited,
        {
          type: 'order-rejected',
          data: { orderId, restaurantId: 'trattoria', reason: 'unknown item code x' },
        },
        { type: 'order-refund-requested', data: { orderId, reason: 'restaurant-rejected' } },
        { type: 'order-payment-refunded', data: { orderId, customerId, amount: 1250, paymentId } },
        { type: 'order-cancelled', data: { orderId, reason: 'restaurant-rejected' } },
      ];
  }
}
