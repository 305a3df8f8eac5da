import { z } from 'zod';

/** `?page=&limit=` for offset-paginated lists (small lists; large ones use cursors). */
export const PageQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type PageQuery = z.infer<typeof PageQuery>;

export const PageMeta = z.object({
  page: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
  totalPages: z.number().int(),
});

export const PageLinks = z.object({
  first: z.string(),
  prev: z.string().nullable(),
  next: z.string().nullable(),
  last: z.string(),
});

/** The list envelope of DESIGN §5 around an item schema. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), meta: PageMeta, links: PageLinks });
}

export function toOffset(page: PageQuery): { limit: number; offset: number } {
  return { limit: page.limit, offset: (page.page - 1) * page.limit };
}

/** Builds `{ data, meta, links }`; links keep the request's other query parameters. */
export function paginate<T>(data: T[], total: number, page: PageQuery, url: string) {
  const totalPages = Math.max(1, Math.ceil(total / page.limit));
  const [pathname, search = ''] = url.split('?');
  const link = (target: number) => {
    const params = new URLSearchParams(search);
    params.set('page', String(target));
    params.set('limit', String(page.limit));
    return `${pathname}?${params.toString()}`;
  };
  return {
    data,
    meta: { page: page.page, limit: page.limit, total, totalPages },
    links: {
      first: link(1),
      prev: page.page > 1 ? link(Math.min(page.page - 1, totalPages)) : null,
      next: page.page < totalPages ? link(page.page + 1) : null,
      last: link(totalPages),
    },
  };
}
