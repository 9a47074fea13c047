import type { ConsumerServiceContext } from '@orderflow/platform';
import { KnownHistories } from '../application/known-histories';
import type { SagaPorts } from '../application/ports';
import type { Config } from '../config';
import { instanceGauges, sagaMetrics, txRetriesCounter } from './metrics';
import { SagaInstances } from './pg-instances';

/** The saga's ports on the shared start-up's pool, registry and event streams. */
export function sagaPorts(
  { pool, registry, eventSourcing, logger }: ConsumerServiceContext<Config>,
  { clock, timeouts }: Pick<SagaPorts, 'clock' | 'timeouts'>,
): SagaPorts & { instances: SagaInstances } {
  const txRetries = txRetriesCounter(registry);
  const instances = new SagaInstances(pool, () => txRetries.inc());
  instanceGauges(registry, instances);
  const metrics = sagaMetrics(registry);
  return {
    eventSourcing,
    instances,
    known: new KnownHistories(),
    metrics,
    logger,
    clock,
    timeouts,
  };
}
