import type { Logger } from 'pino';
import { ConfigError } from './config';
import { createLogger } from './logger';
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

/**
 * The command line every service shares: `--help`, `migrate` (run the migrations and exit), extra
 * commands (for example `rebuild`), or no argument to run the service until SIGTERM. The config
 * is validated before anything runs; a bad variable stops the process with one line.
 */
export function serviceMain<C extends { LOG_LEVEL: string }>(opts: {
  name: string;
  help: string;
  loadConfig: () => C;
  start: (config: C, logger: Logger) => Promise<Stoppable>;
  migrate?: (config: C, logger: Logger) => Promise<void>;
  /** Extra commands; each returns the exit code. */
  commands?: Record<string, (config: C, logger: Logger, args: string[]) => Promise<number>>;
  argv?: string[];
}): void {
  const [arg, ...rest] = opts.argv ?? process.argv.slice(2);
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(`${opts.help}\n`);
    process.exit(0);
  }
  runMain(async () => {
    const config = opts.loadConfig();
    const logger = createLogger(opts.name, config.LOG_LEVEL);
    if (arg === 'migrate') {
      await opts.migrate?.(config, logger);
      logger.info(opts.migrate ? 'migrations done' : 'no migrations: this service owns no tables');
      process.exit(0);
    }
    const command = arg === undefined ? undefined : opts.commands?.[arg];
    if (command) process.exit(await command(config, logger, rest));
    if (arg !== undefined) throw new ConfigError(`unknown argument "${arg}"; see --help`);
    return opts.start(config, logger);
  });
}
