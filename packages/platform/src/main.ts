import type { Logger } from 'pino';
import { ConfigError } from './config';
import { stopTelemetry } from './telemetry';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service's `start()` and stops it gracefully on SIGTERM or SIGINT: the service stops
 * taking work, drains its consumers, finishes in-flight requests and closes its pools. A second
 * signal, or a stop that takes longer than `graceMs`, exits at once. A ConfigError is printed as
 * its one line.
 */
export function runMain(
  start: () => Promise<Stoppable>,
  opts: { logger?: Logger; graceMs?: number } = {},
): void {
  const grace = opts.graceMs ?? 25_000;
  let service: Stoppable | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    opts.logger?.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      opts.logger?.error({ graceMs: grace }, 'graceful stop timed out');
      process.exit(1);
    }, grace);
    timer.unref();
    void (async () => {
      try {
        await service?.stop();
        await stopTelemetry();
        opts.logger?.info('stopped');
        process.exit(0);
      } catch (err: unknown) {
        opts.logger?.error({ err }, 'stop failed');
        process.exit(1);
      }
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  start()
    .then((s) => {
      service = s;
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
      } else if (opts.logger) {
        opts.logger.fatal({ err }, 'start failed');
      } else {
        process.stderr.write(
          `start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        );
      }
      process.exit(1);
    });
}
