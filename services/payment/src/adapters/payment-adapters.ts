import type { Pool, Registry } from '@orderflow/platform';
import type { PaymentMetrics } from '../application/ports';
import { paymentMetrics, txRetriesCounter } from './metrics';
import { PgPayments } from './pg-payments';

/** The payment service's adapters on its pool and registry: its tables and its metrics. */
export function paymentAdapters(
  pool: Pool,
  registry: Registry,
): { payments: PgPayments; metrics: PaymentMetrics } {
  const txRetries = txRetriesCounter(registry);
  const payments = new PgPayments(pool, { onRetry: () => txRetries.inc() });
  return { payments, metrics: paymentMetrics(registry) };
}
