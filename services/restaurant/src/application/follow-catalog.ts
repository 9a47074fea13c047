import type { Catalog } from '@orderflow/menu';
import { catalogFollower, type Logger, type RuntimeConfig } from '@orderflow/platform';
import type { RestaurantsPort } from './ports';

/**
 * The catalog in force, written to the restaurant's tables: the file's at start, replaced by the
 * runtime config's `restaurant.catalog` while present. Writes run one after another; one that
 * fails keeps the previous catalog.
 */
export async function followCatalog(opts: {
  restaurants: RestaurantsPort;
  fileCatalog: Catalog;
  catalogFile: string;
  logger: Logger;
}): Promise<{ onRuntimeConfig: (cfg: RuntimeConfig) => void; settled: () => Promise<void> }> {
  const { restaurants, logger, fileCatalog } = opts;
  await restaurants.replaceCatalog(fileCatalog);
  logger.info(
    { restaurants: fileCatalog.restaurants.length, source: opts.catalogFile },
    'catalog loaded',
  );
  let chain: Promise<void> = Promise.resolve();
  const onRuntimeConfig = catalogFollower({
    fileCatalog: opts.fileCatalog,
    catalogFile: opts.catalogFile,
    logger,
    onChange: ({ catalog, source }) => {
      chain = chain.then(async () => {
        try {
          await restaurants.replaceCatalog(catalog);
          logger.info({ restaurants: catalog.restaurants.length, source }, 'catalog replaced');
        } catch (err: unknown) {
          logger.error(
            { err: err instanceof Error ? err.message : String(err) },
            'catalog could not be written; keeping the previous one',
          );
        }
      });
    },
  });
  return { onRuntimeConfig, settled: () => chain };
}
