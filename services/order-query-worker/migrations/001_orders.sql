-- The orders read model. The order-api reads it (SELECT only); the column names are a contract
-- (docs/services.md). `version` is the stream version of the last event applied: the worker writes
-- only when the event's version is the next one (conditional UPDATE / INSERT ... ON CONFLICT).
CREATE TABLE IF NOT EXISTS orders (
  order_id UUID PRIMARY KEY,
  customer_id TEXT NOT NULL,
  restaurant_id TEXT NOT NULL,
  items JSONB NOT NULL,
  amount INT8 NOT NULL,
  status TEXT NOT NULL,
  version INT8 NOT NULL,
  cancellation_reason TEXT,
  refunded BOOL NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);

-- GET /api/orders?customerId=: newest first, keyset-paged by (created_at, order_id).
CREATE INDEX IF NOT EXISTS orders_customer_created ON orders (customer_id, created_at DESC, order_id);
