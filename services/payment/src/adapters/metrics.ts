import { counter, type Registry } from '@orderflow/platform';
import type { PaymentMetrics } from '../application/ports';

export function paymentMetrics(registry: Registry): PaymentMetrics {
  return {
    debitedCents: counter(registry, {
      name: 'orderflow_payment_debited_cents_total',
      help: 'Cents debited from customer accounts.',
    }),
    refundedCents: counter(registry, {
      name: 'orderflow_payment_refunded_cents_total',
      help: 'Cents credited back by refunds.',
    }),
    payments: counter(registry, {
      name: 'orderflow_payments_total',
      help: 'Payment decisions recorded, by outcome.',
      labelNames: ['outcome'] as const,
    }),
    refunds: counter(registry, { name: 'orderflow_refunds_total', help: 'Refunds recorded.' }),
  };
}

export const txRetriesCounter = (registry: Registry) =>
  counter(registry, {
    name: 'orderflow_payment_tx_retries_total',
    help: 'Local transactions run again after SQLSTATE 40001.',
  });
