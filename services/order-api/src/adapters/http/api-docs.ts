import { z } from 'zod';
import { orderViewSchema } from '@orderflow/contracts';
import { LAST_EVENT_ID_HEADER, feedMessageSchema, lastEventIdSchema } from '../../domain/live';
import {
  IDEMPOTENCY_KEY_HEADER,
  createdOrderSchema,
  idempotencyKeySchema,
  placeOrderBodySchema,
} from '../../domain/order';
import { listQuerySchema, orderIdSchema } from '../../domain/query';
import { catalogSchema } from '@orderflow/menu';
import type { HeaderDoc, OperationDoc } from './openapi';
import {
  cancelledOrderExample,
  createdOrderExample,
  eventStreamExample,
  orderExample,
  restaurantsExample,
} from './openapi-samples';

/** The documentation of each /api route; routes.ts hands each to its route's `config.openapi`. */

export const orderPageSchema = z.strictObject({
  items: z.array(orderViewSchema),
  nextCursor: z
    .string()
    .nullable()
    .meta({ description: 'The cursor of the next page; null on the last page.' }),
});

export const restaurantsSchema = z.strictObject({ restaurants: catalogSchema.shape.restaurants });

const idParams = z.object({ id: orderIdSchema.meta({ description: 'The order id (a UUID).' }) });

const location: HeaderDoc = {
  name: 'Location',
  description: 'The order: /api/orders/{orderId}.',
  schema: z.string(),
  required: true,
};

export const placeOrderDoc: OperationDoc = {
  operationId: 'placeOrder',
  summary: 'Place an order',
  description:
    "Prices the order from the restaurant's menu and appends `order-created` to the order's stream. The order then moves on its own: Pending → Paid → Approved, or to Cancelled (payment declined; or rejected by the restaurant, refunded, cancelled). Follow it with GET /api/orders/{id}/events. Limited per client (RATE_LIMIT_MAX a window: 429).",
  tag: 'orders',
  headers: [
    {
      name: IDEMPOTENCY_KEY_HEADER,
      description:
        'Makes a retry safe: the same key (per customer) with the same order answers the first order again (201, Idempotent-Replayed: true), even after a menu change; with another order 422.',
      schema: idempotencyKeySchema,
    },
  ],
  body: {
    schema: placeOrderBodySchema,
    examples: {
      menuPrices: {
        summary: 'Priced by the menu',
        value: {
          customerId: 'c1',
          restaurantId: 'trattoria',
          items: [{ code: 'margherita', quantity: 2 }],
        },
      },
      expectedPrice: {
        summary: 'With the price the client expects (409 if the menu says otherwise)',
        value: {
          customerId: 'c1',
          restaurantId: 'trattoria',
          items: [
            { code: 'margherita', quantity: 2, unitPrice: 1250 },
            { code: 'tiramisu', quantity: 1, unitPrice: 650 },
          ],
        },
      },
    },
  },
  responses: {
    201: {
      description: 'The order is taken (or, with an Idempotency-Key, was taken before).',
      headers: [
        location,
        {
          name: 'Idempotent-Replayed',
          description: '`true` when this answers a retry of an order taken before.',
          schema: z.literal('true'),
        },
      ],
      content: {
        'application/json': {
          schema: createdOrderSchema,
          examples: { created: { summary: 'A new order', value: createdOrderExample } },
        },
      },
    },
  },
  failures: [
    'validation',
    'malformed-json',
    'forbidden',
    'payload-too-large',
    'unsupported-media-type',
    'price-changed',
    'order-conflict',
    'order-unavailable',
    'idempotency-key-reused',
    'rate-limited',
  ],
};

export const listOrdersDoc: OperationDoc = {
  operationId: 'listOrders',
  summary: "A customer's orders",
  description:
    'Newest first, keyset paged. A customer lists its own orders; staff may list anyone’s.',
  tag: 'orders',
  query: listQuerySchema,
  responses: {
    200: {
      description: 'One page of orders.',
      content: {
        'application/json': {
          schema: orderPageSchema,
          examples: {
            page: { summary: 'The last page', value: { items: [orderExample], nextCursor: null } },
          },
        },
      },
    },
  },
  failures: ['validation', 'forbidden'],
};

export const getOrderDoc: OperationDoc = {
  operationId: 'getOrder',
  summary: 'One order',
  description:
    'The order from the read model; right after it was placed, while the projection catches up, from its `order-created` (status Pending, version 0). Its customer or staff only.',
  tag: 'orders',
  params: idParams,
  responses: {
    200: {
      description: 'The order.',
      content: {
        'application/json': {
          schema: orderViewSchema,
          examples: {
            approved: { summary: 'Approved', value: orderExample },
            cancelled: { summary: 'Rejected, refunded, cancelled', value: cancelledOrderExample },
          },
        },
      },
    },
  },
  failures: ['validation', 'forbidden', 'order-not-found'],
};

export const orderEventsDoc: OperationDoc = {
  operationId: 'followOrder',
  summary: 'Follow an order live (Server-Sent Events)',
  description: `A \`text/event-stream\`: at once the order as it is (with every event of its stream so far), then one message per event the query worker projects, in stream order (status, cancellation reason, refund). Each message's \`id\` is the order's stream version and its \`data\` an OrderFeedMessage: the order at that version and the events since the message before. A reconnect with \`Last-Event-ID\` gets every version after it, one message each, nothing skipped (an EventSource does this by itself). The stream ends when the order is Approved or Cancelled; a reconnect after that answers 204, which stops an EventSource. A comment line (\`: heartbeat\`) comes every SSE_HEARTBEAT_MS. Each instance serves at most SSE_MAX_STREAMS streams (503 beyond). Same access as GET /api/orders/{id}.`,
  tag: 'orders',
  params: idParams,
  headers: [
    {
      name: LAST_EVENT_ID_HEADER,
      description: 'The id (stream version) of the last message the client has: resume after it.',
      schema: lastEventIdSchema,
    },
  ],
  responses: {
    200: {
      description: 'The stream.',
      content: {
        'text/event-stream': {
          schema: z.string(),
          messageSchema: feedMessageSchema,
          examples: {
            approved: { summary: 'An order approved while followed', value: eventStreamExample },
          },
        },
      },
    },
    204: { description: 'The client (Last-Event-ID) already has the order’s final state.' },
  },
  failures: ['validation', 'forbidden', 'order-not-found', 'too-many-streams'],
};

export const restaurantsDoc: OperationDoc = {
  operationId: 'listRestaurants',
  summary: 'Restaurants and their menus',
  description:
    'The menus orders are priced from, as they are now (the catalog file, or the runtime config’s `restaurant.catalog` while it is set). A closed restaurant takes no orders.',
  tag: 'restaurants',
  responses: {
    200: {
      description: 'Every restaurant.',
      content: {
        'application/json': {
          schema: restaurantsSchema,
          examples: { catalog: { summary: 'One restaurant', value: restaurantsExample } },
        },
      },
    },
  },
  failures: [],
};
