import { randomUUID } from 'node:crypto';

/** What an order is meant to exercise; the checker uses it for safety checks only. */
export type Intent = 'approve' | 'decline' | 'reject';

export interface PlannedOrder {
  intent: Intent;
  idempotencyKey: string;
  body: {
    customerId: string;
    restaurantId: string;
    items: { code: string; name: string; unitPrice: number; quantity: number }[];
  };
}

export interface AcceptedOrder extends PlannedOrder {
  orderId: string;
  amount: number;
  acceptedAt: number;
}

/**
 * A mix of orders: most approve (small orders at `trattoria` spread over many customers, far
 * below the default credit), some are declined (one large order by a fresh customer, over the
 * 1000.00 default credit), some are rejected after payment (an unknown item code or an unknown
 * restaurant) and so refunded.
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
            { code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 1 + (i % 2) },
            ...(i % 3 === 0
              ? [{ code: 'tiramisu', name: 'Tiramisu', unitPrice: 650, quantity: 1 }]
              : []),
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
          items: [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 100 }],
        },
      });
    } else {
      const unknownRestaurant = i % 2 === 0;
      out.push({
        intent: 'reject',
        idempotencyKey: key,
        body: {
          customerId: `chaos-${runId}-r${i % 31}`,
          restaurantId: unknownRestaurant ? 'nowhere-bistro' : 'trattoria',
          items: [
            {
              code: unknownRestaurant ? 'margherita' : 'pineapple-pizza',
              name: 'Pizza',
              unitPrice: 900,
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
