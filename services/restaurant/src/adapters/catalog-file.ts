import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '@orderflow/platform';
import { parseCatalog, type Catalog } from '../domain/catalog';

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
