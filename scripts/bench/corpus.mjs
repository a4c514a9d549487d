// The benchmark's corpus at each scale: SciFact as it is (about 10k chunks), a prefix of it for smoke runs,
// and larger corpora grown from it with a fixed seed, so that every run at a scale ingests the same bytes.
// A generated document takes the sentence count of a SciFact document drawn at random, and that many
// sentences drawn at random from all SciFact abstracts; its title is a SciFact title, and its id is new
// (gen-<n>). The text stays scientific English of SciFact's length, so chunks per document, terms per chunk
// and the BM25 statistics stay close to SciFact's; the queries stay SciFact's test queries.

import { createHash } from 'node:crypto';

/** Each scale as a multiple of SciFact's documents (5,183 documents ≈ 10k chunks). */
export const SCALES = { '2k': 0.2, '10k': 1, '100k': 10, '1m': 100 };
export const CORPUS_SEED = 0x5eed2026;

/** mulberry32: a small PRNG with a 32-bit state, enough to draw sentences reproducibly. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentences(text) {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z0-9(])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The documents of `scale` grown from `base` (SciFact's, in file order), and a SHA-256 of their ids and
 * texts, which tells two runs' corpora apart. Below 1× it is a prefix of SciFact.
 */
export function scaleCorpus(base, scale, seed = CORPUS_SEED) {
  const factor = SCALES[scale];
  if (factor === undefined) throw new Error(`unknown scale "${scale}": ${Object.keys(SCALES).join(', ')}`);
  const total = Math.round(base.length * factor);
  const documents = base.slice(0, Math.min(total, base.length));
  if (total > base.length) {
    const random = prng(seed);
    const pick = (list) => list[Math.floor(random() * list.length)];
    const perDocument = base.map((d) => sentences(d.text).length || 1);
    const pool = base.flatMap((d) => sentences(d.text));
    const titles = base.map((d) => d.title).filter(Boolean);
    for (let n = 0; documents.length < total; n++) {
      const count = pick(perDocument);
      const text = Array.from({ length: count }, () => pick(pool)).join(' ');
      documents.push({ id: `gen-${n}`, title: pick(titles), text, metadata: { generated: true } });
    }
  }
  const hash = createHash('sha256');
  for (const d of documents) hash.update(`${d.id}\t${d.title ?? ''}\t${d.text}\n`);
  return { documents, generated: Math.max(0, total - base.length), sha256: hash.digest('hex') };
}
