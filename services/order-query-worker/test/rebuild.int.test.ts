import { randomUUID } from 'node:crypto';
import { orderStreamId, parseEvent } from '@orderflow/events';
import { createEventStoreClient, createLogger } from '@orderflow/platform';
import { freshDatabase, startNats, type NatsServer } from '@orderflow/testkit';
import type { EventStoreApp } from '../../eventstore/src/app';
import { startEventStoreOn } from '../../eventstore/test/harness';
import { configSchema } from '../src/config';
import { foldOrder } from '../src/domain/projection';
import { PgOrders } from '../src/adapters/pg-orders';
import { createPool } from '@orderflow/platform';
import { RebuildRefusedError, rebuild } from '../src/rebuild';
import { orderStory } from './harness';

let nats: NatsServer;
let store: EventStoreApp;

beforeAll(async () => {
  nats = await startNats();
  store = await startEventStoreOn(nats.url);
});

afterAll(async () => {
  await store.stop();
  await nats.stop();
});

test('when the read model is rebuilt from ReadAll, then every order matches the fold of its stream, and a second rebuild needs --truncate', async () => {
  const es = createEventStoreClient(`127.0.0.1:${store.grpcPort}`);
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  const paths = ['approved', 'declined', 'rejected'] as const;
  try {
    for (const [i, orderId] of ids.entries()) {
      const events = orderStory(orderId, paths[i]!).map((e) => ({
        eventId: randomUUID(),
        eventType: e.type,
        data: JSON.stringify(e.data),
        metadata: {},
      }));
      // One append of several events: they share a commit time, so ReadAll may return them out of version order.
      await es.client.appendToStream({
        streamId: orderStreamId(orderId),
        expectedVersion: -1,
        events,
      });
    }
    const config = configSchema.parse({
      DATABASE_URL: await freshDatabase('query'),
      EVENTSTORE_ADDRESS: `127.0.0.1:${store.grpcPort}`,
    });
    const logger = createLogger('order-query-worker', 'silent');
    const report = await rebuild(config, logger, { pageSize: 4 });
    expect(report).toMatchObject({ read: 12, applied: 12, unresolved: 0, skipped: 0 });

    const pool = createPool(config.DATABASE_URL, 1);
    try {
      const orders = new PgOrders(pool);
      for (const orderId of ids) {
        const { events } = await es.client.readStream({
          streamId: orderStreamId(orderId),
          fromVersion: 0,
          maxCount: 0,
        });
        const want = foldOrder(
          events.map((e) => ({
            version: e.version,
            createdAt: new Date(e.createdAt).toISOString(),
            event: parseEvent(e.eventType, JSON.parse(e.data)),
          })),
        );
        expect(await orders.get(orderId)).toEqual(want);
      }
    } finally {
      await pool.end();
    }
    await expect(rebuild(config, logger)).rejects.toThrow(RebuildRefusedError);
    expect((await rebuild(config, logger, { truncate: true })).applied).toBe(12);
  } finally {
    es.close();
  }
});
