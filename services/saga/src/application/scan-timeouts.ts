import { SpanKind, withSpan, type Logger } from '@orderflow/platform';
import { advanceOnTimeout } from './advance-on-timeout';
import type { DueInstance, SagaPorts } from './ports';

const BATCH = 100;

export interface TimeoutScanner {
  /** Runs one scan now (tests); resolves with the number of rows this replica claimed. */
  scanOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** One claimed deadline; a failure is logged, and the row comes due again when its lease ends. */
async function handleTimeout(ports: SagaPorts, logger: Logger, row: DueInstance): Promise<void> {
  try {
    await withSpan(
      'saga timeout',
      { kind: SpanKind.INTERNAL, attributes: { 'orderflow.saga.state': row.state } },
      () => advanceOnTimeout(ports, row),
    );
  } catch (err: unknown) {
    // The lease runs out and the row comes due again.
    logger.warn(
      { orderId: row.orderId, err: err instanceof Error ? err.message : String(err) },
      'timeout handling failed; will retry',
    );
  }
}

/**
 * Every `intervalMs`, picks due deadlines (`deadline <= now()`, oldest first, 100 at a time),
 * claims each with a compare-and-set on its deadline (the lease: `leaseMs`, after which an
 * unfinished row comes due again), and runs the saga with a timeout tick. Scans never overlap.
 */
export function startTimeoutScanner(
  ports: SagaPorts,
  intervalMs: number,
  leaseMs: number,
): TimeoutScanner {
  const { instances, logger } = ports;
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const scan = async (): Promise<number> => {
    let claimed = 0;
    for (;;) {
      const due = await instances.due(BATCH);
      for (const row of due) {
        if (stopped) return claimed;
        if (!(await instances.claim(row, leaseMs))) continue;
        claimed++;
        await handleTimeout(ports, logger, row);
      }
      if (due.length < BATCH || stopped) return claimed;
    }
  };

  const scanOnce = (): Promise<number> => {
    running ??= scan().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = (): void => {
    if (stopped) return;
    void scanOnce()
      .catch((err: unknown) =>
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'timeout scan failed',
        ),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);

  return {
    scanOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
