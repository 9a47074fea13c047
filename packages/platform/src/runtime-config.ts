import { readFile, watch } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { runtimeConfigSchema, type RuntimeConfig } from '@orderflow/contracts';

export { runtimeConfigSchema, type RuntimeConfig } from '@orderflow/contracts';

/**
 * Reads the runtime config file and calls `onChange` with it now and whenever it changes. The
 * kubelet updates a mounted ConfigMap by swapping a symlink in its folder, so the folder is watched,
 * with a slow poll as a fallback. A file that does not parse is logged and ignored: the last good
 * config stays in force.
 */
export function watchRuntimeConfig(
  file: string | undefined,
  logger: Logger,
  onChange: (cfg: RuntimeConfig) => void,
  pollMs = 10_000,
): { close(): void } {
  if (!file) return { close: () => undefined };
  const ac = new AbortController();
  let last = '';
  const load = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return; // an optional ConfigMap that does not exist yet
    }
    if (text === last) return;
    last = text;
    try {
      const cfg = runtimeConfigSchema.parse(JSON.parse(text));
      logger.info({ file }, 'runtime config applied');
      onChange(cfg);
    } catch (err: unknown) {
      logger.error(
        { file, err: err instanceof Error ? err.message : String(err) },
        'runtime config rejected; keeping the previous one',
      );
    }
  };
  void load();
  const timer = setInterval(() => void load(), pollMs);
  timer.unref();
  void (async () => {
    try {
      for await (const _ of watch(dirname(file), { signal: ac.signal })) await load();
    } catch {
      /* aborted, or the folder does not exist: the poll covers it */
    }
  })();
  return {
    close: () => {
      ac.abort();
      clearInterval(timer);
    },
  };
}

/**
 * A service's own runtime tunable: derived from each accepted runtime config (an empty one at
 * first, i.e. the environment's value), read with `get`. `onChange` hears every new value.
 */
export function runtimeSetting<T>(
  derive: (cfg: RuntimeConfig) => T,
  onChange?: (next: T, previous: T) => void,
): { get: () => T; apply: (cfg: RuntimeConfig) => void } {
  let value = derive({});
  return {
    get: () => value,
    apply: (cfg) => {
      const previous = value;
      value = derive(cfg);
      onChange?.(value, previous);
    },
  };
}
