import {
  ORDER_COLUMNS as COLUMNS,
  orderRecordOfRow,
  type OrderRecord,
  type OrderRow,
} from '@orderflow/contracts';
import { LRUCache } from 'lru-cache';
import type { Pool } from '@orderflow/platform';
import { project, type VersionedEvent } from '../domain/projection';

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

/** An event without a commit time (never from the store) is stamped with the database's clock. */
const ts = (v: string): string | null => (v ? v : null);

/**
 * The `orders` read model. Writes are conditional on the version read, so replicas may race safely.
 * Each replica remembers the rows it wrote last (up to `capacity`): the next event of an order
 * it knows is projected on that row and written with `version = known version`, one round trip
 * instead of a read and a write. A stale memory (another replica moved the row) only makes that
 * write miss, and the row is read as before.
 */
export class PgOrders {
  private readonly known: LRUCache<string, OrderRecord>;

  constructor(
    private readonly pool: Pool,
    capacity = 10_000,
  ) {
    this.known = new LRUCache({ max: capacity });
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const r = await this.pool.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE order_id = $1`, [
      orderId,
    ]);
    return r.rows[0] ? orderRecordOfRow(r.rows[0]) : undefined;
  }

  /** The row as this replica last wrote or read it, if it still remembers it. */
  remembered(orderId: string): OrderRecord | undefined {
    return this.known.get(orderId);
  }

  async count(): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT count(*)::INT8 AS n FROM orders');
    return r.rows[0]?.n ?? 0;
  }

  async clear(): Promise<void> {
    await this.pool.query('DELETE FROM orders WHERE true');
    this.known.clear();
  }

  /**
   * Projects the event on the row and writes only if nobody else moved the row meanwhile
   * (`version = expected`, or no row for version 0). Losing that race means another replica applied
   * something: read again and project again. The row comes from memory when this replica knows
   * it at the version just before the event (or knows there is none: an order's first event).
   */
  async apply(orderId: string, e: VersionedEvent): Promise<ApplyResult> {
    const mine = this.known.get(orderId);
    let current: OrderRecord | undefined;
    let fromMemory = e.version === 0 || mine?.version === e.version - 1;
    if (fromMemory) current = e.version === 0 ? undefined : mine;
    for (let attempt = 0; attempt < 10; attempt++) {
      if (!fromMemory) {
        current = await this.get(orderId);
        if (current) this.remember(current);
      }
      fromMemory = false;
      const next = project(current, e);
      if (next === 'duplicate' || next === 'gap') return next;
      const written = current ? await this.update(next, current.version) : await this.insert(next);
      if (written) {
        this.remember(next);
        return 'applied';
      }
    }
    throw new Error(`order ${orderId}: lost the write race 10 times`);
  }

  private remember(v: OrderRecord): void {
    this.known.set(v.orderId, v);
  }

  private async insert(v: OrderRecord): Promise<boolean> {
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

  private async update(v: OrderRecord, expectedVersion: number): Promise<boolean> {
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
