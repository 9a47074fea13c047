import type { OrderView } from '@orderflow/contracts';
import { customerForList, mayRead, type Principal } from '../domain/auth';
import { fail, refuse, validationFailure } from '../domain/problems';
import { pendingView, toView, validateListQuery, validateOrderId } from '../domain/query';
import type { OrderApiPorts } from './ports';

/**
 * `GET /api/orders/:id`: the read model's row, or, right after a POST while the projection lags,
 * the order's `order-created` from the event store (read-your-writes). Only its customer or staff
 * may read it.
 */
export async function getOrder(
  ports: Pick<OrderApiPorts, 'readModel' | 'events'>,
  principal: Principal,
  rawId: unknown,
): Promise<OrderView> {
  const id = validateOrderId(rawId);
  if (!id.ok) validationFailure(id.errors);
  const readable = (customerId: string): void => {
    if (!mayRead(principal, customerId))
      throw fail({
        code: 'forbidden',
        field: 'id',
        message: "is another customer's order; only staff may read it",
      });
  };
  const record = await ports.readModel.get(id.value);
  if (record) {
    readable(record.customerId);
    return toView(record);
  }
  const created = await ports.events.readOrderCreated(id.value);
  if (created) {
    readable(created.payload.customerId);
    return pendingView(created.payload, created.createdAt);
  }
  throw fail({ code: 'order-not-found', orderId: id.value });
}

/** `GET /api/orders?customerId=&limit=&cursor=`: a customer's orders, newest first. */
export async function listOrders(
  ports: Pick<OrderApiPorts, 'readModel'>,
  principal: Principal,
  query: unknown,
): Promise<{ items: OrderView[]; nextCursor: string | null }> {
  const q = validateListQuery(query);
  if (!q.ok) validationFailure(q.errors);
  const whose = customerForList(principal, q.value.customerId);
  if (!whose.ok) refuse(whose);
  const { records, nextCursor } = await ports.readModel.list({
    ...q.value,
    customerId: whose.customerId,
  });
  return { items: records.map(toView), nextCursor };
}
