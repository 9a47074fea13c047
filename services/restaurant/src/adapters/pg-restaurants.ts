import { withTransaction, type Pool, type RetryOptions } from '@orderflow/platform';
import type { Catalog, Restaurant } from '@orderflow/menu';
import type { RecordedDecision } from '../application/ports';

/** Restaurants, menus and decisions in the restaurant service's own database. */
export class PgRestaurants {
  constructor(
    private readonly pool: Pool,
    private readonly retry: Pick<RetryOptions, 'onRetry'> = {},
  ) {}

  /** Makes the tables hold exactly this catalog, in one transaction. */
  async replaceCatalog(catalog: Catalog): Promise<void> {
    await withTransaction(
      this.pool,
      async (c) => {
        const ids = catalog.restaurants.map((r) => r.id);
        await c.query('DELETE FROM menu_items WHERE NOT (restaurant_id = ANY($1::TEXT[]))', [ids]);
        await c.query('DELETE FROM restaurants WHERE NOT (restaurant_id = ANY($1::TEXT[]))', [ids]);
        for (const r of catalog.restaurants) {
          await c.query(
            `INSERT INTO restaurants (restaurant_id, name, open, updated_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (restaurant_id) DO UPDATE SET name = excluded.name, open = excluded.open, updated_at = now()`,
            [r.id, r.name, r.open],
          );
          const codes = r.menu.map((i) => i.code);
          await c.query(
            'DELETE FROM menu_items WHERE restaurant_id = $1 AND NOT (code = ANY($2::TEXT[]))',
            [r.id, codes],
          );
          for (const item of r.menu)
            await c.query(
              `INSERT INTO menu_items (restaurant_id, code, name, price_cents) VALUES ($1, $2, $3, $4)
               ON CONFLICT (restaurant_id, code) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents`,
              [r.id, item.code, item.name, item.priceCents],
            );
        }
      },
      this.retry,
    );
  }

  /** The restaurant and its menu in one round trip (a restaurant without items has one row of NULLs). */
  async restaurant(id: string): Promise<Restaurant | undefined> {
    const r = await this.pool.query<{
      name: string;
      open: boolean;
      code: string | null;
      item_name: string | null;
      price_cents: number | null;
    }>({
      name: 'restaurant-with-menu',
      text: `SELECT r.name, r.open, m.code, m.name AS item_name, m.price_cents
               FROM restaurants r LEFT JOIN menu_items m ON m.restaurant_id = r.restaurant_id
              WHERE r.restaurant_id = $1
              ORDER BY m.code`,
      values: [id],
    });
    const first = r.rows[0];
    if (!first) return undefined;
    return {
      id,
      name: first.name,
      open: first.open,
      menu: r.rows.flatMap((m) =>
        m.code === null
          ? []
          : [{ code: m.code, name: m.item_name ?? '', priceCents: m.price_cents ?? 0 }],
      ),
    };
  }

  /** Records the decision about an order; the first one recorded stays. */
  async record(orderId: string, restaurantId: string, d: RecordedDecision): Promise<void> {
    await this.pool.query(
      `INSERT INTO decisions (order_id, restaurant_id, decision, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING`,
      [orderId, restaurantId, d.decision, d.decision === 'approved' ? null : d.reason],
    );
  }

  async decision(
    orderId: string,
  ): Promise<(RecordedDecision & { restaurantId: string }) | undefined> {
    const r = await this.pool.query<{
      restaurant_id: string;
      decision: RecordedDecision['decision'];
      reason: string | null;
    }>('SELECT restaurant_id, decision, reason FROM decisions WHERE order_id = $1', [orderId]);
    const row = r.rows[0];
    if (!row) return undefined;
    return row.decision === 'approved'
      ? { decision: 'approved', restaurantId: row.restaurant_id }
      : { decision: row.decision, reason: row.reason ?? '', restaurantId: row.restaurant_id };
  }
}
