import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import {
  ORDER_COLUMNS,
  foldOrder,
  streamEventOf,
  subjects,
  type OrderRecord,
  type ProjectedOrder,
  type VersionedEvent,
} from '@orderflow/contracts';
import { orderStreamId, type OrderEvent } from '@orderflow/events';
import {
  ExpectedVersion,
  appendEvents,
  createEventStoreClient,
  createLogger,
  grpcEventStreams,
  type EventSourcing,
  type Logger,
} from '@orderflow/platform';
import { freshDatabase } from '@orderflow/testkit';
import { startStore, type StoreUnderTest } from '../../eventstore/test/harness';
import { start, type OrderApiApp } from '../src/app';
import { configSchema } from '../src/config';

/**
 * The `orders` read model exactly as the order-query-worker creates it. The order API owns no
 * tables; tests create this one and insert rows to stand in for the projection.
 */
export const ORDERS_TABLE = `CREATE TABLE IF NOT EXISTS orders (
  order_id UUID PRIMARY KEY,
  customer_id TEXT NOT NULL,
  restaurant_id TEXT NOT NULL,
  items JSONB NOT NULL,
  amount INT8 NOT NULL,
  status TEXT NOT NULL,
  version INT8 NOT NULL,
  cancellation_reason TEXT NULL,
  refunded BOOL NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)`;

/** The repository's catalog: `trattoria` (margherita 1250, tiramisu 650), `sushi-bar`, `closed-diner`. */
export const repoCatalog = resolve(__dirname, '..', '..', '..', 'config', 'catalog.json');

export interface ApiUnderTest {
  app: OrderApiApp;
  store: StoreUnderTest;
  /** The query database, to play the order-query-worker. */
  query: pg.Pool;
  /** The event store's database, to count what was appended. */
  events: pg.Pool;
  baseUrl: string;
  /** The runtime-config file the API watches (absent until a test writes it). */
  runtimeFile: string;
  /** Events stored so far, over every stream. */
  eventCount(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The real event store and the order API in-process on port 0, over a fresh query database, with
 * the repository's catalog. Without overrides it runs with AUTH_MODE=none and no rate limit.
 */
export async function startApi(
  overrides: Record<string, string> = {},
  logger: Logger = createLogger('order-api', 'silent'),
): Promise<ApiUnderTest> {
  const store = await startStore();
  const queryUrl = await freshDatabase('query');
  const query = new pg.Pool({ connectionString: queryUrl, max: 2 });
  const events = new pg.Pool({ connectionString: store.databaseUrl, max: 2 });
  await query.query(ORDERS_TABLE);
  const runtimeDir = mkdtempSync(join(tmpdir(), 'order-api-runtime-'));
  const runtimeFile = join(runtimeDir, 'runtime.json');
  const app = await start(
    configSchema.parse({
      DATABASE_URL: queryUrl,
      DATABASE_POOL_MAX: '4',
      EVENTSTORE_ADDRESS: `127.0.0.1:${store.app.grpcPort}`,
      // The live order feed listens where the event store publishes.
      NATS_URL: store.nats.url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      LOG_LEVEL: 'silent',
      CATALOG_FILE: repoCatalog,
      RUNTIME_CONFIG_FILE: runtimeFile,
      AUTH_MODE: 'none',
      RATE_LIMIT_MAX: '0',
      ...overrides,
    }),
    logger,
  );
  return {
    app,
    store,
    query,
    events,
    runtimeFile,
    baseUrl: `http://127.0.0.1:${app.httpPort}`,
    async eventCount() {
      const r = await events.query<{ n: string }>('SELECT count(*) AS n FROM events');
      return Number(r.rows[0]?.n ?? 0);
    },
    async stop() {
      await app.stop();
      await query.end();
      await events.end();
      await store.stop();
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
}

export interface OrderRowInput {
  orderId: string;
  customerId: string;
  restaurantId?: string;
  items?: unknown[];
  amount?: number;
  status?: string;
  version?: number;
  cancellationReason?: string | null;
  refunded?: boolean;
  createdAt?: Date;
}

/** Writes a read-model row as the projection would (insert or update). */
export async function upsertOrder(pool: pg.Pool, o: OrderRowInput): Promise<void> {
  const createdAt = o.createdAt ?? new Date();
  await pool.query(
    `INSERT INTO orders (order_id, customer_id, restaurant_id, items, amount, status, version, cancellation_reason, refunded, created_at, updated_at)
     VALUES ($1, $2, $3, $4::JSONB, $5, $6, $7, $8, $9, $10, now())
     ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
       cancellation_reason = EXCLUDED.cancellation_reason, refunded = EXCLUDED.refunded, updated_at = now()`,
    [
      o.orderId,
      o.customerId,
      o.restaurantId ?? 'trattoria',
      JSON.stringify(
        o.items ?? [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 }],
      ),
      o.amount ?? 2500,
      o.status ?? 'Pending',
      o.version ?? 0,
      o.cancellationReason ?? null,
      o.refunded ?? false,
      createdAt,
    ],
  );
}

/**
 * Plays the event store's other writers and the order-query-worker for an order the API took:
 * `append` adds events to its stream; `project` writes its read-model row as of a version (the
 * projection's fold of the stream) and announces it on the live feed, unless `silent` (an
 * announcement lost).
 */
export interface PlayedWorker {
  append(orderId: string, ...types: OrderEvent['type'][]): Promise<void>;
  project(orderId: string, version: number, opts?: { silent?: boolean }): Promise<OrderRecord>;
  close(): Promise<void>;
}

export async function playWorker(sut: ApiUnderTest): Promise<PlayedWorker> {
  const store = createEventStoreClient(`127.0.0.1:${sut.store.app.grpcPort}`);
  const es: EventSourcing = { streams: grpcEventStreams(store.client), producer: 'test' };
  const nc = await connect({ servers: sut.store.nats.url });
  const paymentIds = new Map<string, string>();
  const customers = new Map<string, string>();
  const history = async (orderId: string): Promise<VersionedEvent[]> => {
    const h = await es.streams.read(orderStreamId(orderId), AbortSignal.timeout(5000));
    return h.events.map((e) => ({ version: e.version, createdAt: e.recordedAt, event: e.event }));
  };
  const eventOf = (orderId: string, type: OrderEvent['type']): OrderEvent => {
    const paymentId = paymentIds.get(orderId) ?? randomUUID();
    paymentIds.set(orderId, paymentId);
    const payment = {
      orderId,
      customerId: customers.get(orderId) ?? 'c1',
      amount: 1250,
      paymentId,
    };
    switch (type) {
      case 'order-payment-debited':
      case 'order-payment-refunded':
        return { type, data: payment };
      case 'order-approved':
        return { type, data: { orderId, restaurantId: 'trattoria' } };
      case 'order-rejected':
        return {
          type,
          data: { orderId, restaurantId: 'trattoria', reason: 'closed for the night' },
        };
      case 'order-refund-requested':
      case 'order-cancelled':
        return { type, data: { orderId, reason: 'restaurant-rejected' } };
      case 'order-created':
      case 'order-payment-declined':
        throw new Error(`not played here: ${type}`);
    }
  };
  return {
    async append(orderId, ...types) {
      const created = (await history(orderId))[0]?.event;
      if (created?.type === 'order-created') customers.set(orderId, created.data.customerId);
      await appendEvents(
        es,
        orderStreamId(orderId),
        ExpectedVersion.Any,
        types.map((t) => ({ eventId: randomUUID(), event: eventOf(orderId, t) })),
        { cause: { correlationId: orderId, causationId: orderId } },
      );
    },
    async project(orderId, version, opts = {}) {
      const events = (await history(orderId)).filter((e) => e.version <= version);
      const row = foldOrder(events);
      if (!row) throw new Error(`no order ${orderId}`);
      await sut.query.query(
        `INSERT INTO orders (${ORDER_COLUMNS}) VALUES ($1, $2, $3, $4::JSONB, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
           cancellation_reason = EXCLUDED.cancellation_reason, refunded = EXCLUDED.refunded, updated_at = EXCLUDED.updated_at`,
        [
          row.orderId,
          row.customerId,
          row.restaurantId,
          JSON.stringify(row.items),
          row.amount,
          row.status,
          row.version,
          row.cancellationReason,
          row.refunded,
          row.createdAt,
          row.updatedAt,
        ],
      );
      const last = events[events.length - 1];
      if (!opts.silent && last) {
        const message: ProjectedOrder = { order: row, event: streamEventOf(last) };
        nc.publish(subjects.projectedOrder(orderId), JSON.stringify(message));
        await nc.flush();
      }
      return row;
    },
    async close() {
      await nc.close();
      store.close();
    },
  };
}
