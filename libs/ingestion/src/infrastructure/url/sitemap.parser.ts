/**
 * Owns reading a sitemap (sitemaps.org): a `urlset` lists pages, a `sitemapindex` lists further
 * sitemaps; each entry is its absolute http(s) `loc` and, if given, its `lastmod`.
 */
import { XMLParser } from 'fast-xml-parser';

export interface SitemapEntry {
  url: string;
  lastmod?: string;
}

export interface Sitemap {
  kind: 'urlset' | 'sitemapindex';
  entries: SitemapEntry[];
}

const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true });

/** The sitemap in `xml`, or undefined when the text is not a sitemap (or not XML). */
export function parseSitemap(xml: string): Sitemap | undefined {
  let root: Record<string, unknown>;
  try {
    root = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  for (const [kind, item] of [
    ['urlset', 'url'],
    ['sitemapindex', 'sitemap'],
  ] as const) {
    const node = root[kind];
    if (node === undefined) continue;
    const items = node && typeof node === 'object' ? (node as Record<string, unknown>)[item] : undefined;
    const list = items === undefined ? [] : Array.isArray(items) ? items : [items];
    const entries: SitemapEntry[] = [];
    for (const entry of list as Record<string, unknown>[]) {
      const loc = typeof entry?.loc === 'string' ? entry.loc.trim() : '';
      if (!/^https?:\/\//i.test(loc) || !URL.canParse(loc)) continue;
      const lastmod = typeof entry.lastmod === 'string' ? entry.lastmod.trim() : '';
      entries.push(lastmod ? { url: loc, lastmod } : { url: loc });
    }
    return { kind, entries };
  }
  return undefined;
}
