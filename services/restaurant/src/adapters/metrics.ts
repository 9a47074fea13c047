import { counter, type Registry } from '@orderflow/platform';
import type { RestaurantMetrics } from '../application/ports';

export const restaurantMetrics = (registry: Registry): RestaurantMetrics => ({
  decisions: counter(registry, {
    name: 'orderflow_restaurant_decisions_total',
    help: 'Decisions appended, by decision.',
    labelNames: ['decision'] as const,
  }),
  conflicts: counter(registry, {
    name: 'orderflow_restaurant_version_conflicts_total',
    help: 'Decision appends refused because the order stream moved since it was read.',
  }),
  skipped: counter(registry, {
    name: 'orderflow_restaurant_skipped_total',
    help: 'Orders not decided because the saga had already requested a refund or cancelled them.',
  }),
});
