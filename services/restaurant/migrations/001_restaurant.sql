-- Restaurants and menus, upserted from the catalog at start (and from the runtime config).
CREATE TABLE IF NOT EXISTS restaurants (
  restaurant_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  open BOOL NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS menu_items (
  restaurant_id TEXT NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  price_cents INT8 NOT NULL CHECK (price_cents >= 0),
  PRIMARY KEY (restaurant_id, code)
);

-- One decision per order. `skipped`: the saga had requested a refund or cancelled first.
CREATE TABLE IF NOT EXISTS decisions (
  order_id UUID PRIMARY KEY,
  restaurant_id TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected', 'skipped')),
  reason TEXT,
  decided_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
