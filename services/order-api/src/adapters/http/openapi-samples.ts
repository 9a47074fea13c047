import type { OrderView } from '@orderflow/contracts';
import type { ApiFailure } from '../../domain/problems';
import type { CreatedOrder } from '../../domain/order';
import type { FeedMessage } from '../../domain/live';

/**
 * Examples of the OpenAPI document. The problem examples are real answers: each sample failure
 * goes through `problemOf`, the function that answers it. A test checks every example against its
 * schema.
 */

type Samples = { [K in ApiFailure['code']]: Extract<ApiFailure, { code: K }> };

const ORDER_ID = '3b0f8a52-3c1e-4c57-9a4e-1f0c2d9e8b71';

/** One failure of every code: the compiler keeps this complete. */
export const failureSamples: Samples = {
  validation: {
    code: 'validation',
    errors: [{ field: 'items[0].quantity', message: 'must be an integer from 1 to 100' }],
  },
  'malformed-json': { code: 'malformed-json', detail: 'the body is not valid JSON' },
  'payload-too-large': { code: 'payload-too-large', limitBytes: 65536 },
  'unsupported-media-type': { code: 'unsupported-media-type', contentType: 'text/plain' },
  'order-not-found': { code: 'order-not-found', orderId: ORDER_ID },
  'route-not-found': { code: 'route-not-found', method: 'GET', path: '/api/nothing' },
  'method-not-allowed': { code: 'method-not-allowed', method: 'DELETE', allow: ['GET', 'HEAD'] },
  'idempotency-key-reused': { code: 'idempotency-key-reused' },
  'order-conflict': { code: 'order-conflict', orderId: ORDER_ID },
  'order-unavailable': {
    code: 'order-unavailable',
    problems: [
      {
        reason: 'unknown-item',
        field: 'items[1].code',
        restaurantId: 'trattoria',
        code: 'lasagne',
      },
    ],
  },
  'price-changed': {
    code: 'price-changed',
    changes: [
      {
        field: 'items[0].unitPrice',
        code: 'tiramisu',
        name: 'Tiramisù',
        expectedUnitPrice: 700,
        menuUnitPrice: 650,
      },
    ],
  },
  unauthenticated: {
    code: 'unauthenticated',
    error: 'invalid_token',
    description: 'the token has expired',
  },
  forbidden: {
    code: 'forbidden',
    field: 'id',
    message: "is another customer's order; only staff may read it",
  },
  'rate-limited': { code: 'rate-limited', limit: 60, retryAfterSeconds: 42 },
  'too-many-streams': { code: 'too-many-streams', limit: 1000, retryAfterSeconds: 5 },
  'request-timeout': { code: 'request-timeout' },
  'header-too-large': { code: 'header-too-large', limitBytes: 16384 },
  unavailable: { code: 'unavailable', dependency: 'event store', retryAfterSeconds: 2 },
  internal: { code: 'internal' },
};

const items = [
  { code: 'margherita', name: 'Pizza Margherita', unitPrice: 1250, quantity: 2 },
  { code: 'tiramisu', name: 'Tiramisù', unitPrice: 650, quantity: 1 },
];

export const createdOrderExample: CreatedOrder = {
  orderId: ORDER_ID,
  status: 'Pending',
  amount: 3150,
  customerId: 'c1',
  restaurantId: 'trattoria',
  items,
};

export const orderExample: OrderView = {
  ...createdOrderExample,
  status: 'Approved',
  version: 2,
  createdAt: '2026-11-26T07:24:36.123Z',
  updatedAt: '2026-11-26T07:24:36.311Z',
  refunded: false,
};

export const cancelledOrderExample: OrderView = {
  ...orderExample,
  status: 'Cancelled',
  version: 5,
  updatedAt: '2026-11-26T07:24:36.702Z',
  cancellationReason: 'restaurant-rejected',
  refunded: true,
};

const pendingMessage: FeedMessage = {
  order: { ...orderExample, status: 'Pending', version: 0, updatedAt: orderExample.createdAt },
  events: [{ version: 0, type: 'order-created', createdAt: orderExample.createdAt }],
};
const paidMessage: FeedMessage = {
  order: { ...orderExample, status: 'Paid', version: 1, updatedAt: '2026-11-26T07:24:36.201Z' },
  events: [{ version: 1, type: 'order-payment-debited', createdAt: '2026-11-26T07:24:36.201Z' }],
};
const approvedMessage: FeedMessage = {
  order: orderExample,
  events: [{ version: 2, type: 'order-approved', createdAt: orderExample.updatedAt }],
};

export const feedMessageExample = paidMessage;

/** What a client reads from the stream of an order that is approved while it watches. */
export const eventStreamExample = [
  'retry: 2000',
  '',
  ...[pendingMessage, paidMessage, approvedMessage].flatMap((m) => [
    `id: ${m.order.version}`,
    `data: ${JSON.stringify(m)}`,
    '',
  ]),
].join('\n');

export const restaurantsExample = {
  restaurants: [
    {
      id: 'trattoria',
      name: 'Trattoria da Mario',
      open: true,
      menu: [
        { code: 'margherita', name: 'Pizza Margherita', priceCents: 1250 },
        { code: 'tiramisu', name: 'Tiramisù', priceCents: 650 },
      ],
    },
  ],
};
