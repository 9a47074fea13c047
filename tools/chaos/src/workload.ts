import { randomUUID } from 'node:crypto';

/** What an order is meant to exercise; the checker uses it for safety checks only. */
export type Intent = 'approve' | 'decline' | 'reject';

export interface PlannedOrder {
  intent: Intent;
  idempotencyKey: string;
  body: {
    customerId: string;
    restaurantId: string;
    /** Priced by the order API from its menu; `unitPrice`, where given, is the price expected. */
    items: { code: string; quantity: number; unitPrice?: number }[];
  };
}

export interface CatalogFile {
  restaurants: {
    id: string;
    name: string;
    open: boolean;
    menu: { code: string; name: string; priceCents: number }[];
  }[];
}

/**
 * The order API's menu in a chaos run: the restaurant's catalog plus what the restaurant no longer
 * sells, as if the menu changed between the order and the decision: a `pineapple-pizza` at
 * trattoria, a whole `nowhere-bistro`, and tiramisu at 700 where the restaurant now asks 650. The
 * order API takes those orders (priced from its menu), the restaurant rejects them, the saga
 * refunds them: the "rejected after payment" part of the workload.
 */
export function chaosApiCatalog(restaurantCatalog: CatalogFile): CatalogFile {
  return {
    restaurants: [
      ...restaurantCatalog.restaurants.map((r) =>
        r.id !== 'trattoria'
          ? r
          : {
              ...r,
              menu: [
                ...r.menu.map((i) => (i.code === 'tiramisu' ? { ...i, priceCents: 700 } : i)),
                { code: 'pineapple-pizza', name: 'Pineapple pizza', priceCents: 900 },
              ],
            },
      ),
      {
        id: 'nowhere-bistro',
        name: 'Nowhere Bistro',
        open: true,
        menu: [{ code: 'margherita', name: 'Margherita', priceCents: 900 }],
      },
    ],
  };
}

export interface AcceptedOrder extends PlannedOrder {
  orderId: string;
  amount: number;
  acceptedAt: number;
}

/**
 * A mix of orders: most approve (small margherita orders at `trattoria` spread over many
 * customers, far below the default credit; half carry the menu price as their expected price),
 * some are declined (one large order by a fresh customer, over the 1000.00 default credit), some
 * are rejected after payment (an item or restaurant the restaurant no longer has, or a price it
 * changed: see `chaosApiCatalog`) and so refunded.
 */
export function planOrders(
  count: number,
  random: () => number = Math.random,
  runId = randomUUID().slice(0, 8),
): PlannedOrder[] {
  const out: PlannedOrder[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    const key = `${runId}-${i}`;
    if (r < 0.7) {
      out.push({
        intent: 'approve',
        idempotencyKey: key,
        body: {
          customerId: `chaos-${runId}-c${i % 97}`,
          restaurantId: 'trattoria',
          items: [
            i % 2 === 0
              ? { code: 'margherita', quantity: 1 }
              : { code: 'margherita', unitPrice: 1250, quantity: 2 },
          ],
        },
      });
    } else if (r < 0.85) {
      out.push({
        intent: 'decline',
        idempotencyKey: key,
        body: {
          customerId: `chaos-${runId}-big${i}`,
          restaurantId: 'trattoria',
          items: [{ code: 'margherita', unitPrice: 1250, quantity: 100 }],
        },
      });
    } else {
      const variant = i % 3;
      out.push({
        intent: 'reject',
        idempotencyKey: key,
        body: {
          customerId: `chaos-${runId}-r${i % 31}`,
          restaurantId: variant === 0 ? 'nowhere-bistro' : 'trattoria',
          items: [
            {
              code: ['margherita', 'pineapple-pizza', 'tiramisu'][variant] ?? 'tiramisu',
              quantity: 1,
            },
          ],
        },
      });
    }
  }
  return out;
}

/**
 * POSTs one order, retrying with the same Idempotency-Key while the system is disrupted (503,
 * connection refused while the API restarts). Returns undefined when it was never accepted.
 */
export async function placeOrder(
  api: string,
  order: PlannedOrder,
  deadline: number,
): Promise<AcceptedOrder | undefined> {
  let attempt = 0;
  while (Date.now() < deadline) {
    attempt++;
    try {
      const res = await fetch(`${api}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': order.idempotencyKey },
        body: JSON.stringify(order.body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 201) {
        const body = (await res.json()) as { orderId: string; amount: number };
        return { ...order, orderId: body.orderId, amount: body.amount, acceptedAt: Date.now() };
      }
      if (res.status >= 400 && res.status < 500)
        throw new Error(`order refused with ${res.status}: ${await res.text()}`);
    } catch (err: unknown) {
      if (err instanceof Error && err.message.startsWith('order refused')) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5))));
  }
  return undefined;
}
