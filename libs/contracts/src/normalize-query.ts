/**
 * Query normalisation: Unicode NFKC (full-width and compatibility forms fold to their plain letters),
 * control characters dropped, white space collapsed. Case and punctuation are left to each retriever's
 * own analysis, so nothing a retriever could use is lost here.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200D\uFEFF]/g;
const SPACE = /\s+/g;

export function normalizeQuery(query: string): string {
  return query.normalize('NFKC').replace(CONTROL, '').replace(SPACE, ' ').trim();
}
