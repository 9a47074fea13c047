import { z } from 'zod';

/**
 * The restaurants and menus: the one schema of `CATALOG_FILE` (config/catalog.json) and of the
 * runtime config's `restaurant.catalog`. The restaurant service decides against it and the order
 * API prices orders from it; both read the same file and the same runtime config.
 */
const id = z.string().min(1).max(200);
export const catalogSchema = z.object({
  restaurants: z
    .array(
      z.object({
        id,
        name: z.string().min(1).max(200),
        open: z.boolean(),
        menu: z.array(
          z.object({
            code: z.string().min(1).max(100),
            name: z.string().min(1).max(200),
            /** Integer cents. */
            priceCents: z.number().int().nonnegative(),
          }),
        ),
      }),
    )
    .superRefine((restaurants, ctx) => {
      const seen = new Set<string>();
      for (const [i, r] of restaurants.entries()) {
        if (seen.has(r.id))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: `duplicate restaurant id "${r.id}"`,
          });
        seen.add(r.id);
        const codes = new Set<string>();
        for (const [j, item] of r.menu.entries()) {
          if (codes.has(item.code))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'menu', j, 'code'],
              message: `duplicate item code "${item.code}"`,
            });
          codes.add(item.code);
        }
      }
    }),
});
export type Catalog = z.infer<typeof catalogSchema>;
export type Restaurant = Catalog['restaurants'][number];

export class CatalogError extends Error {
  override name = 'CatalogError';
}

/** Validates a catalog; the error names the first offending field, e.g. `restaurants.0.menu.1.priceCents`. */
export function parseCatalog(raw: unknown, source: string): Catalog {
  const r = catalogSchema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new CatalogError(`invalid catalog ${source}: ${problems.join('; ')}`);
}

export type MenuItem = Restaurant['menu'][number];

/** A catalog looked up by restaurant id and item code. */
export interface MenuIndex {
  restaurant(id: string): IndexedRestaurant | undefined;
}

export interface IndexedRestaurant {
  id: string;
  name: string;
  open: boolean;
  item(code: string): MenuItem | undefined;
}

export function indexCatalog(catalog: Catalog): MenuIndex {
  const restaurants = new Map<string, IndexedRestaurant>();
  for (const r of catalog.restaurants) {
    const items = new Map(r.menu.map((i) => [i.code, i]));
    restaurants.set(r.id, {
      id: r.id,
      name: r.name,
      open: r.open,
      item: (code) => items.get(code),
    });
  }
  return { restaurant: (id) => restaurants.get(id) };
}
