import { indexCatalog, type Catalog, type MenuIndex } from '@orderflow/menu';
import { loadCatalogFile, watchCatalog, type Logger } from '@orderflow/platform';
import type { Config } from '../config';

/**
 * The menus orders are priced from: the catalog file, replaced live by the runtime config's
 * `restaurant.catalog` (docs/flow.md), as the restaurant service reads them. A bad file stops the
 * start naming the field.
 */
export async function followMenu(
  config: Config,
  logger: Logger,
): Promise<{ menu: () => MenuIndex; catalog: () => Catalog; close: () => void }> {
  const fileCatalog = await loadCatalogFile(config.CATALOG_FILE);
  let catalog = fileCatalog;
  let menu = indexCatalog(fileCatalog);
  logger.info(
    { restaurants: fileCatalog.restaurants.length, source: config.CATALOG_FILE },
    'catalog loaded',
  );
  const watch = watchCatalog({
    fileCatalog,
    catalogFile: config.CATALOG_FILE,
    runtimeConfigFile: config.RUNTIME_CONFIG_FILE,
    logger,
    onChange: (change) => {
      catalog = change.catalog;
      menu = indexCatalog(change.catalog);
      logger.info(
        { restaurants: change.catalog.restaurants.length, source: change.source },
        'catalog replaced',
      );
    },
  });
  return { menu: () => menu, catalog: () => catalog, close: () => watch.close() };
}
