import type { OrderItem } from '@orderflow/events';

/** Statuses of an order in the read model (docs/flow.md). */
export const orderStatuses = [
  'Pending',
  'Paid',
  'PaymentDeclined',
  'Approved',
  'Rejected',
  'Refunded',
  'Cancelled',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];
export const finalOrderStatuses: ReadonlySet<OrderStatus> = new Set(['Approved', 'Cancelled']);

/**
 * One order of the `orders` read model: what the order-query-worker's projection writes and the
 * order API reads (column names in docs/services.md).
 */
export interface OrderRecord {
  orderId: string;
  customerId: string;
  restaurantId: string;
  items: OrderItem[];
  /** Integer cents. */
  amount: number;
  status: OrderStatus;
  /** Version of the last event applied. */
  version: number;
  cancellationReason: string | null;
  refunded: boolean;
  /** RFC 3339 commit time of `order-created`. */
  createdAt: string;
  /** RFC 3339 commit time of the last event applied. */
  updatedAt: string;
}

/**
 * What `GET /api/orders/:id` and each item of `GET /api/orders` answer: the record, with
 * `cancellationReason` only on a Cancelled order.
 */
export type OrderView = Omit<OrderRecord, 'cancellationReason'> & { cancellationReason?: string };

/** The `orders` table's row as `pg` returns it. */
export interface OrderRow {
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

/** The columns of an `OrderRow`, in one place for every reader and writer of the table. */
export const ORDER_COLUMNS =
  'order_id, customer_id, restaurant_id, items, amount, status, version, cancellation_reason, refunded, created_at, updated_at';

export const orderRecordOfRow = (r: OrderRow): OrderRecord => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  restaurantId: r.restaurant_id,
  items: r.items,
  amount: Number(r.amount),
  status: r.status,
  version: Number(r.version),
  cancellationReason: r.cancellation_reason,
  refunded: r.refunded,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});
