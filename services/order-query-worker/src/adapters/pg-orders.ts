import type { OrderItem } from '@orderflow/events';
import type { Pool } from '@orderflow/platform';
import {
  project,
  type OrderStatus,
  type OrderView,
  type VersionedEvent,
} from '../domain/projection';

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

interface OrderRow {
  order_id: string;
  customer_id: string;
  restaurant_id: string;
  items: OrderItem[];
  amount: number;
  status: OrderStatus;
  version: number;
  cancellation_reason: string | null;
  refunded: boolean;
  created_at: Date;
  updated_at: Date;
}

const toView = (r: OrderRow): OrderView => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  restaurantId: r.restaurant_id,
  items: r.items,
  amount: r.amount,
  status: r.status,
  version: r.version,
  cancellationReason: r.cancellation_reason,
  refunded: r.refunded,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const COLUMNS =
  'order_id, customer_id, restaurant_id, items, amount, status, version, cancellation_reason, refunded, created_at, updated_at';
/** An event without a commit time (never from the store) is stamped with the database's clock. */
const ts = (v: string): string | null => (v ? v : null);

/** The `orders` read model. Writes are conditional on the version read, so replicas may race safely. */
export class PgOrders {
  constructor(private readonly pool: Pool) {}

  async get(orderId: string): Promise<OrderView | undefined> {
    const r = await this.pool.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE order_id = $1`, [
      orderId,
    ]);
    return r.rows[0] ? toView(r.rows[0]) : undefined;
  }

  async count(): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT count(*)::INT8 AS n FROM orders');
    return r.rows[0]?.n ?? 0;
  }

  async clear(): Promise<void> {
    await this.pool.query('DELETE FROM orders WHERE true');
  }

  /**
   * Reads the row, projects the event, and writes only if nobody else moved the row meanwhile
   * (`version = expected`, or no row for version 0). Losing that race means another replica applied
   * something: read again and project again.
   */
  async apply(orderId: string, e: VersionedEvent): Promise<ApplyResult> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.get(orderId);
      const next = project(current, e);
      if (next === 'duplicate' || next === 'gap') return next;
      const written = current ? await this.update(next, current.version) : await this.insert(next);
      if (written) return 'applied';
    }
    throw new Error(`order ${orderId}: lost the write race 10 times`);
  }

  private async insert(v: OrderView): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO orders (${COLUMNS})
       VALUES ($1, $2, $3, $4::JSONB, $5, $6, $7, $8, $9, COALESCE($10::TIMESTAMPTZ, now()), COALESCE($11::TIMESTAMPTZ, now()))
       ON CONFLICT (order_id) DO NOTHING`,
      [
        v.orderId,
        v.customerId,
        v.restaurantId,
        JSON.stringify(v.items),
        v.amount,
        v.status,
        v.version,
        v.cancellationReason,
        v.refunded,
        ts(v.createdAt),
        ts(v.updatedAt),
      ],
    );
    return r.rowCount === 1;
  }

  private async update(v: OrderView, expectedVersion: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE orders SET status = $2, version = $3, cancellation_reason = $4, refunded = $5,
         updated_at = COALESCE($6::TIMESTAMPTZ, now())
       WHERE order_id = $1 AND version = $7`,
      [
        v.orderId,
        v.status,
        v.version,
        v.cancellationReason,
        v.refunded,
        ts(v.updatedAt),
        expectedVersion,
      ],
    );
    return r.rowCount === 1;
  }
}
