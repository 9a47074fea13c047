import { z } from 'zod';

/** The restaurants and menus the service knows: the `CATALOG_FILE` and the runtime `restaurant.catalog`. */
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
