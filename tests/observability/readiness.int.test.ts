import { randomUUID } from 'node:crypto';
import { orderStreamId } from '@orderflow/events';
import { createEventStoreClient, createLogger } from '@orderflow/platform';
import { freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import type { EventStoreApp } from '../../services/eventstore/src/app';
import { startEventStoreOn } from '../../services/eventstore/test/harness';
import { start as startPayment, type PaymentApp } from '../../services/payment/src/app';
import { configSchema as paymentConfig } from '../../services/payment/src/config';

/**
 * Readiness against a real nats-server that goes away and comes back on the same port with the
 * same data: the event store (database + NATS) and a consumer service (database + NATS + its
 * durable consumer) turn unready within a few seconds and ready again once NATS is back.
 */
describe('readiness when nats-server stops and returns', () => {
  let nats: NatsServer;
  let store: EventStoreApp;
  let payment: PaymentApp;

  const probe = async (
    port: number,
  ): Promise<{ status: number; body: string; ready: string | undefined }> => {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = await r.text();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const ready = /^orderflow_ready(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1];
    return { status: r.status, body, ready };
  };

  beforeAll(async () => {
    nats = await startNats();
    store = await startEventStoreOn(nats.url);
    payment = await startPayment(
      paymentConfig.parse({
        DATABASE_URL: await freshDatabase('payment'),
        NATS_URL: nats.url,
        EVENTSTORE_ADDRESS: `127.0.0.1:${store.grpcPort}`,
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '0',
      }),
      createLogger('payment', 'silent'),
    );
  });

  afterAll(async () => {
    await payment?.stop();
    await store?.stop();
    await nats?.stop();
  });

  it('when nats-server stops, then /readyz answers 503 within a few seconds, and 200 again after it is back', async () => {
    const ports = { eventstore: store.opsPort, payment: payment.opsPort };
    for (const port of Object.values(ports)) {
      const p = await probe(port);
      expect(p.status).toBe(200);
      expect(p.ready).toBe('1');
    }

    await nats.kill();
    const stoppedAt = Date.now();
    const unreadyAfter = await Promise.all(
      Object.entries(ports).map(async ([name, port]) => {
        await waitFor(
          `${name} unready`,
          async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503,
          {
            timeoutMs: 15_000,
            intervalMs: 250,
          },
        );
        return Date.now() - stoppedAt;
      }),
    );
    // The readiness timeout is 2 s: a probe sees the loss within a few seconds.
    for (const ms of unreadyAfter) expect(ms).toBeLessThan(5_000);
    for (const port of Object.values(ports)) {
      const p = await probe(port);
      expect(p.body).toMatch(/"nats":\{"ok":false/);
      expect(p.ready).toBe('0');
    }
    expect((await probe(ports.payment)).body).toMatch(/"consumer":\{"ok":false/);

    await nats.start();
    const backAt = Date.now();
    for (const [name, port] of Object.entries(ports)) {
      await waitFor(`${name} ready again`, async () => (await probe(port)).status === 200, {
        timeoutMs: 20_000,
        intervalMs: 250,
      });
      expect((await probe(port)).ready).toBe('1');
    }
    expect(Date.now() - backAt).toBeLessThan(20_000);

    // Ready means working: an order appended now is consumed by the resubscribed consumer.
    const es = createEventStoreClient(`127.0.0.1:${store.grpcPort}`);
    try {
      const orderId = randomUUID();
      const streamId = orderStreamId(orderId);
      await es.client.appendToStream({
        streamId,
        expectedVersion: -1,
        events: [
          {
            eventId: randomUUID(),
            eventType: 'order-created',
            data: JSON.stringify({
              orderId,
              customerId: 'c-ready',
              restaurantId: 'trattoria',
              items: [{ code: 'margherita', name: 'Margherita', unitPrice: 900, quantity: 1 }],
              amount: 900,
            }),
            metadata: { correlation_id: orderId },
          },
        ],
      });
      await waitFor(
        'payment to answer the order after the reconnect',
        async () =>
          (await es.client.readStream({ streamId, fromVersion: 0, maxCount: 10 })).events.length >=
          2,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
    } finally {
      es.close();
    }
  });
});
