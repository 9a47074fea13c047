import { indexCatalog, type MenuIndex } from '@orderflow/menu';
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
): Promise<{ menu: () => MenuIndex; close: () => void }> {
  const fileCatalog = await loadCatalogFile(config.CATALOG_FILE);
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
    onChange: ({ catalog, source }) => {
      menu = indexCatalog(catalog);
      logger.info({ restaurants: catalog.restaurants.length, source }, 'catalog replaced');
    },
  });
  return { menu: () => menu, close: () => watch.close() };
}
