import { Registry } from '@orderflow/platform';
import type { OrderRecord } from '@orderflow/contracts';
import { endToEndLatency } from '../../services/order-query-worker/src/adapters/order-latency-metric';

const view = (over: Partial<OrderRecord>): OrderRecord => ({
  orderId: 'o1',
  customerId: 'c1',
  restaurantId: 'r1',
  items: [],
  amount: 100,
  status: 'Approved',
  version: 2,
  cancellationReason: null,
  refunded: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.500Z',
  ...over,
});
const envelope = (eventType: string, version: number, createdAt: string) => ({
  eventId: 'e',
  eventType,
  streamId: 'order-o1',
  version,
  data: {},
  metadata: {},
  createdAt,
});
const series = async (registry: Registry) =>
  (await registry.getSingleMetric('orderflow_order_end_to_end_seconds')!.get()).values.filter(
    (v) =>
      String((v as { metricName?: string }).metricName ?? '').endsWith('_count') && v.value > 0,
  );

describe('orderflow_order_end_to_end_seconds', () => {
  it('when the event that set the final state is applied, then its time since order-created is observed once, by outcome', async () => {
    const registry = new Registry();
    const observe = endToEndLatency(registry, { get: () => Promise.resolve(view({})) });
    await observe('o1', envelope('order-approved', 2, '2026-01-01T00:00:01.500Z'));
    await observe('o1', envelope('order-payment-debited', 1, '2026-01-01T00:00:01.000Z'));
    const s = await series(registry);
    expect(s).toEqual([expect.objectContaining({ value: 1, labels: { outcome: 'approved' } })]);
    const sum = (
      await registry.getSingleMetric('orderflow_order_end_to_end_seconds')!.get()
    ).values.find((v) => String((v as { metricName?: string }).metricName ?? '').endsWith('_sum'));
    expect(sum?.value).toBeCloseTo(1.5);
  });

  it('when a final event did not set the status (a later version is projected, or the read fails), then nothing is observed', async () => {
    const registry = new Registry();
    const later = endToEndLatency(registry, {
      get: () => Promise.resolve(view({ status: 'Cancelled', version: 5 })),
    });
    await later('o1', envelope('order-cancelled', 4, '2026-01-01T00:00:03.000Z'));
    const failing = endToEndLatency(registry, { get: () => Promise.reject(new Error('db down')) });
    await failing('o1', envelope('order-cancelled', 4, '2026-01-01T00:00:03.000Z'));
    expect(await series(registry)).toEqual([]);
  });
});
