import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const latencyBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * A registry per service with the process metrics prom-client collects by default, under their
 * standard names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, ...), which the
 * community Node.js dashboards and alerts expect; orderflow's own metrics start with `orderflow_`.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Returns the metric of that name from the registry, creating it once (safe across restarts in tests). */
export function counter<L extends string>(
  registry: Registry,
  cfg: { name: string; help: string; labelNames?: readonly L[] },
): Counter<L> {
  return (
    (registry.getSingleMetric(cfg.name) as Counter<L> | undefined) ??
    new Counter<L>({ ...cfg, registers: [registry] })
  );
}

export function gauge<L extends string>(
  registry: Registry,
  cfg: {
    name: string;
    help: string;
    labelNames?: readonly L[];
    collect?: (this: Gauge<L>) => void | Promise<void>;
  },
): Gauge<L> {
  return (
    (registry.getSingleMetric(cfg.name) as Gauge<L> | undefined) ??
    new Gauge<L>({ ...cfg, registers: [registry] })
  );
}

export function histogram<L extends string>(
  registry: Registry,
  cfg: { name: string; help: string; labelNames?: readonly L[]; buckets?: number[] },
): Histogram<L> {
  return (
    (registry.getSingleMetric(cfg.name) as Histogram<L> | undefined) ??
    new Histogram<L>({ buckets: latencyBuckets, ...cfg, registers: [registry] })
  );
}
