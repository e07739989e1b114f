import type { Store } from '../store/store.js';

/** `Find Roofers!` → `find-roofers`; names with no latin letters or digits become `mission`. */
export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return base || 'mission';
}

/** The first free slug among `base`, `base-2`, `base-3`, … (found with one indexed query, not a scan). */
export function uniqueSlug(store: Store, name: string): string {
  const base = slugify(name);
  if (!store.sql('SELECT 1 FROM missions WHERE slug = ?').get(base)) return base;
  const row = store
    .sql(`SELECT max(CAST(substr(slug, length(@base) + 2) AS INTEGER)) AS n FROM missions WHERE slug GLOB @base || '-[0-9]*'`)
    .get({ base }) as { n: number | null };
  let n = Math.max(2, (row.n ?? 1) + 1);
  while (store.sql('SELECT 1 FROM missions WHERE slug = ?').get(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}
