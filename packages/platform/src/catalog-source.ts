import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCatalog, type Catalog } from '@orderflow/menu';
import type { Logger } from 'pino';
import { ConfigError } from './config';
import { watchRuntimeConfig, type RuntimeConfig } from './runtime-config';

/**
 * Reads and validates the catalog file; a relative path is resolved from the working directory.
 * Every problem is a ConfigError, so `runMain` prints it as one line and the process exits 1.
 */
export async function loadCatalogFile(file: string, cwd: string = process.cwd()): Promise<Catalog> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError(
      `CATALOG_FILE: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    throw new ConfigError(
      `CATALOG_FILE: ${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    return parseCatalog(raw, path);
  } catch (err: unknown) {
    throw new ConfigError(`CATALOG_FILE: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface CatalogChange {
  catalog: Catalog;
  /** `runtime config` when `restaurant.catalog` is in force, else the catalog file's path. */
  source: string;
}

/**
 * Follows the catalog in force through runtime configs: the file's, replaced by the runtime
 * config's `restaurant.catalog` while that is present (the operator writes it from the OrderFlow
 * resource), and the file's again when it is removed. `onChange` runs for every change of the
 * catalog in force, never for the file's first load (the caller has it already). An invalid
 * runtime catalog is logged and the previous catalog stays. The restaurant service and the order
 * API both follow the catalog this way, so they agree on menus.
 */
export function catalogFollower(opts: {
  fileCatalog: Catalog;
  catalogFile: string;
  logger: Logger;
  onChange: (change: CatalogChange) => void;
}): (cfg: RuntimeConfig) => void {
  let fromRuntime = false;
  return (cfg) => {
    const raw = cfg.restaurant?.catalog;
    if (raw === undefined) {
      if (!fromRuntime) return;
      fromRuntime = false;
      opts.onChange({ catalog: opts.fileCatalog, source: opts.catalogFile });
      return;
    }
    let catalog: Catalog;
    try {
      catalog = parseCatalog(raw, 'runtime config restaurant.catalog');
    } catch (err: unknown) {
      opts.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'runtime catalog rejected; keeping the previous one',
      );
      return;
    }
    fromRuntime = true;
    opts.onChange({ catalog, source: 'runtime config' });
  };
}

/** Watches the runtime config file and follows the catalog in force (catalogFollower). */
export function watchCatalog(opts: {
  fileCatalog: Catalog;
  catalogFile: string;
  runtimeConfigFile: string | undefined;
  logger: Logger;
  onChange: (change: CatalogChange) => void;
  pollMs?: number;
}): { close(): void } {
  return watchRuntimeConfig(
    opts.runtimeConfigFile,
    opts.logger,
    catalogFollower(opts),
    opts.pollMs,
  );
}
