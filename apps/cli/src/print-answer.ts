/** Owns how the CLI prints an answer's sources and fallbacks, whether it ran here or on a server. */
import type { Citation, SearchResponse } from '#contracts';

const clip = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

export function printSources(citations: Citation[], degraded: string[]): void {
  if (citations.length > 0) console.log('\nSources:');
  for (const c of citations) {
    console.log(`[${c.index}] ${c.title ?? c.documentId} (${c.documentId}, score ${c.score.toFixed(4)})`);
    console.log(`    ${clip(c.text, 200)}`);
  }
  if (degraded.length > 0) console.log(`\n(degraded: ${degraded.join(', ')})`);
}

export function printResults({ results }: SearchResponse): void {
  if (results.length === 0) console.log('no results');
  results.forEach((r, i) => {
    console.log(`${i + 1}. ${r.title ?? r.documentId} (${r.documentId}, score ${r.score.toFixed(4)})`);
    console.log(`    ${clip(r.text, 200)}`);
  });
}
