import { join } from 'node:path';
import { consumers } from '@orderflow/contracts';
import {
  createLogger,
  migrationsCommand,
  runtimeSetting,
  startConsumerService,
  validateOrderEnvelope,
  type Envelope,
  type Logger,
} from '@orderflow/platform';
import { advanceOnEvent } from './application/advance-on-event';
import { startTimeoutScanner, type TimeoutScanner } from './application/scan-timeouts';
import { sagaPorts } from './adapters/saga-adapters';
import { timeoutsOf, type Config } from './config';
import type { Timeouts } from './domain/workflow';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const runMigrations = migrationsCommand(migrationsDir);
export const CONSUMER = consumers.saga;
/** How long a claimed deadline belongs to the replica that claimed it. */
export const TIMEOUT_LEASE_MS = 15_000;

export interface SagaApp {
  opsPort: number;
  scanner: TimeoutScanner;
  /** The timeouts in force (environment, overridden by the runtime config). */
  timeouts(): Timeouts;
  stop(): Promise<void>;
}

/** Starts the saga: consumer `saga` and the timeout scanner move every order on (application/). */
export async function start(
  config: Config,
  logger: Logger = createLogger('saga', config.LOG_LEVEL),
  clock: () => Date = () => new Date(),
): Promise<SagaApp> {
  const timeouts = runtimeSetting(
    (cfg) => timeoutsOf(config, cfg),
    (next) => logger.info(next, 'saga timeouts in force for deadlines set from now on'),
  );
  const service = await startConsumerService(
    { name: 'saga', consumer: CONSUMER, config, logger, migrationsDir },
    (ctx) => {
      const ports = sagaPorts(ctx, { clock, timeouts: timeouts.get });
      const scanner = startTimeoutScanner(ports, config.TIMEOUT_SCAN_INTERVAL_MS, TIMEOUT_LEASE_MS);
      return {
        scanner,
        validate: validateOrderEnvelope,
        handle: (e: Envelope) => advanceOnEvent(ports, e),
        onRuntimeConfig: timeouts.apply,
        beforeConsumerStop: () => scanner.stop(),
      };
    },
  );
  const { opsPort, parts } = service;
  return { opsPort, scanner: parts.scanner, timeouts: timeouts.get, stop: () => service.stop() };
}
