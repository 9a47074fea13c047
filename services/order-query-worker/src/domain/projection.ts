/**
 * The read model of one order and the pure projection that maintains it. The projection itself is
 * in @orderflow/contracts, because the order API folds streams with it too (the live order feed
 * fills a gap from the event store); this worker is the one that writes the `orders` table.
 */
export {
  foldOrder,
  project,
  VersionGapError,
  type ProjectionResult,
  type VersionedEvent,
} from '@orderflow/contracts';
export type { OrderRecord, OrderStatus } from '@orderflow/contracts';
export { orderStatuses } from '@orderflow/contracts';
