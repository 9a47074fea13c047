import { counter, sqlState, type Logger, type Registry } from '@orderflow/platform';
import type { AppendPath } from './pg-event-store';

/**
 * Counts every fallback of a group from one append path to the next
 * (`orderflow_eventstore_append_fallbacks_total{from,to}`) and logs each kind of it once (by
 * path and SQLSTATE): a reused event id sends groups down the checked path as a matter of course,
 * and one line a group would flood the log; the counter tells how often.
 */
export function fallbackReporter(
  registry: Registry,
  logger: Logger,
): (from: AppendPath, to: AppendPath, err: unknown) => void {
  const fallbacks = counter(registry, {
    name: 'orderflow_eventstore_append_fallbacks_total',
    help: 'Groups of appends that left one write path for the next (create-streams or move-streams to checked-group, checked-group to single), by path.',
    labelNames: ['from', 'to'] as const,
  });
  const logged = new Set<string>();
  return (from, to, err) => {
    fallbacks.inc({ from, to });
    const code = sqlState(err) ?? (err instanceof Error ? err.name : 'unknown');
    const kind = `${from}>${to}:${code}`;
    if (logged.has(kind)) return;
    logged.add(kind);
    logger.info(
      { from, to, code, err: err instanceof Error ? err.message : String(err) },
      'append group fell back to the next write path (logged once per kind; see orderflow_eventstore_append_fallbacks_total)',
    );
  };
}
