import {
  ORDER_COLUMNS,
  orderRecordOfRow,
  type OrderRecord,
  type OrderRow,
} from '@orderflow/contracts';
import type { Pool } from '@orderflow/platform';
import type { ReadModelPort } from '../application/ports';
import { encodeCursor, type ListQuery } from '../domain/query';
import { fail } from '../domain/problems';

/** A row with `created_at` exactly as the database prints it (microseconds), for the keyset cursor. */
type ListedRow = OrderRow & { created_at_text: string };

const COLUMNS = `${ORDER_COLUMNS}, created_at::TEXT AS created_at_text`;

/** SQLSTATEs and driver codes that mean "the read model cannot be reached now", not "bad request". */
const UNAVAILABLE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|57P0[1-3]|08\d\d\d|53\d\d\d|42P01|40001)$/;

function mapError(err: unknown): unknown {
  const code =
    typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  // Class 22 (data exception): only the cursor's timestamp can cause one, e.g. a forged month 13.
  if (typeof code === 'string' && code.startsWith('22')) {
    return fail({
      code: 'validation',
      errors: [{ field: 'cursor', message: 'is not a cursor this API returned' }],
    });
  }
  if (
    (typeof code === 'string' && UNAVAILABLE.test(code)) ||
    (err instanceof Error && /timeout|terminated/i.test(err.message))
  ) {
    return fail({ code: 'unavailable', dependency: 'read model', retryAfterSeconds: 1 });
  }
  return err;
}

/**
 * The `orders` read model in the query database, written by the order-query-worker. The order API
 * only reads it (SELECT only) and owns no migrations.
 */
export class PgReadModel implements ReadModelPort {
  constructor(private readonly pool: Pool) {}

  async get(orderId: string): Promise<OrderRecord | undefined> {
    try {
      const r = await this.pool.query<ListedRow>(
        `SELECT ${COLUMNS} FROM orders WHERE order_id = $1`,
        [orderId],
      );
      const row = r.rows[0];
      return row ? orderRecordOfRow(row) : undefined;
    } catch (err: unknown) {
      throw mapError(err);
    }
  }

  /** A customer's orders, newest first, after the cursor; `nextCursor` is set when more may follow. */
  async list(q: ListQuery): Promise<{ records: OrderRecord[]; nextCursor: string | null }> {
    const params: unknown[] = [q.customerId, q.limit + 1];
    let after = '';
    if (q.cursor) {
      params.push(q.cursor.createdAt, q.cursor.orderId);
      after = 'AND (created_at, order_id) < ($3::TIMESTAMPTZ, $4::UUID)';
    }
    try {
      const r = await this.pool.query<ListedRow>(
        `SELECT ${COLUMNS} FROM orders WHERE customer_id = $1 ${after}
         ORDER BY created_at DESC, order_id DESC LIMIT $2`,
        params,
      );
      const rows = r.rows.slice(0, q.limit);
      const last = rows[rows.length - 1];
      const nextCursor =
        r.rows.length > q.limit && last
          ? encodeCursor({ createdAt: last.created_at_text, orderId: last.order_id })
          : null;
      return { records: rows.map(orderRecordOfRow), nextCursor };
    } catch (err: unknown) {
      throw mapError(err);
    }
  }

  /** The version of each order that has a row: one query for every order the live feed follows. */
  async versions(orderIds: readonly string[]): Promise<Map<string, number>> {
    if (orderIds.length === 0) return new Map();
    try {
      const r = await this.pool.query<{ order_id: string; version: string }>(
        'SELECT order_id, version FROM orders WHERE order_id = ANY($1::UUID[])',
        [orderIds],
      );
      return new Map(r.rows.map((row) => [row.order_id, Number(row.version)]));
    } catch (err: unknown) {
      throw mapError(err);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
