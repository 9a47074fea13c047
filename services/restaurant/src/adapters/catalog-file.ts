import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCatalog, type Catalog } from '../domain/catalog';

/** Reads and validates the catalog file; a relative path is resolved from the working directory. */
export async function loadCatalogFile(file: string, cwd: string = process.cwd()): Promise<Catalog> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new Error(
      `cannot read catalog ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    throw new Error(
      `catalog ${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parseCatalog(raw, path);
}
