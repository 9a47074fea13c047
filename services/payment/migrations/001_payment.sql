-- Customer accounts: the credit limit is fixed when the account is first seen; the balance is
-- credit_limit_cents minus the sum of the account's ledger rows (never stored, so never stale).
CREATE TABLE IF NOT EXISTS accounts (
  customer_id TEXT PRIMARY KEY,
  credit_limit_cents INT8 NOT NULL CHECK (credit_limit_cents >= 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One payment decision per order, ever: the primary key is the idempotency guard of a debit.
CREATE TABLE IF NOT EXISTS payments (
  order_id UUID PRIMARY KEY,
  payment_id UUID NOT NULL UNIQUE,
  customer_id TEXT NOT NULL,
  amount_cents INT8 NOT NULL CHECK (amount_cents >= 0),
  outcome TEXT NOT NULL CHECK (outcome IN ('debited', 'declined')),
  reason TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One refund per order, ever.
CREATE TABLE IF NOT EXISTS refunds (
  order_id UUID PRIMARY KEY,
  payment_id UUID NOT NULL,
  customer_id TEXT NOT NULL,
  amount_cents INT8 NOT NULL CHECK (amount_cents >= 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every debit (+amount) and credit (-amount) of an account, one row each. UUID keys only.
CREATE TABLE IF NOT EXISTS ledger (
  entry_id UUID PRIMARY KEY,
  customer_id TEXT NOT NULL,
  order_id UUID NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
  amount_cents INT8 NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT ledger_order_kind UNIQUE (order_id, kind)
);

CREATE INDEX IF NOT EXISTS ledger_customer ON ledger (customer_id);
