import { describe, expect, it } from 'vitest';
import { isZeroVector } from './embedder.js';
import { HashingEmbedder } from './hashing.embedder.js';

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder({ dimensions: 384 });

  it('describes itself', () => {
    expect(embedder.provider).toBe('hashing');
    expect(embedder.model).toBe('hashing-v2-d384');
    expect(embedder.dimensions).toBe(384);
    expect(new HashingEmbedder({ dimensions: 64 }).model).toBe('hashing-v2-d64');
  });

  it('rejects dimensions that are not a positive integer', () => {
    for (const dimensions of [0, -1, 1.5, Number.NaN]) {
      expect(() => new HashingEmbedder({ dimensions })).toThrow(/positive integer/);
    }
  });

  it('honours the configured dimensions', async () => {
    for (const dimensions of [1, 8, 384, 1536]) {
      const [vector] = await new HashingEmbedder({ dimensions }).embedDocuments(['hybrid search engines']);
      expect(vector).toHaveLength(dimensions);
    }
  });

  it('is deterministic across calls and instances', async () => {
    const text = 'Retrieval-augmented generation grounds answers in retrieved passages.';
    const first = await embedder.embedQuery(text);
    expect(await embedder.embedQuery(text)).toEqual(first);
    expect(await new HashingEmbedder({ dimensions: 384 }).embedQuery(text)).toEqual(first);
    // Embedding other texts in between must not leak state through the reused buffers.
    await embedder.embedDocuments(['something else entirely', 'x'.repeat(5000), 'word '.repeat(20_000)]);
    expect(await embedder.embedQuery(text)).toEqual(first);
  });

  it('returns unit-length vectors of float32 values', async () => {
    const vectors = await embedder.embedDocuments([
      'a short one',
      'The quick brown fox jumps over the lazy dog. '.repeat(30),
      'Ünïcödé façade ﬁnancial 2024',
    ]);
    for (const vector of vectors) {
      expect(norm(vector)).toBeCloseTo(1, 5);
      expect(vector.every((x) => Number.isFinite(x) && Math.fround(x) === x)).toBe(true);
    }
  });

  it('embeds a query exactly as a one-document batch', async () => {
    const query = 'How does BM25 weigh term frequency?';
    expect(await embedder.embedQuery(query)).toEqual((await embedder.embedDocuments([query]))[0]);
  });

  it('keeps input order across a batch larger than one event-loop slice', async () => {
    const texts = Array.from({ length: 600 }, (_, i) => `document number ${i} about topic ${i % 7}`);
    const batch = await embedder.embedDocuments(texts);
    expect(batch).toHaveLength(600);
    for (const i of [0, 255, 256, 257, 599]) expect(batch[i]).toEqual(await embedder.embedQuery(texts[i]));
  });

  it('places texts that share words closer than unrelated texts', async () => {
    const [query, related, paraphrase, unrelated] = await embedder.embedDocuments([
      'How do I reset my account password?',
      'To reset the password of your account, open settings and choose reset password.',
      'Resetting passwords for accounts is done from the settings page.',
      'The migration of arctic terns spans both hemispheres every year.',
    ]);
    expect(dot(query, related)).toBeGreaterThan(dot(query, unrelated) + 0.2);
    expect(dot(query, paraphrase)).toBeGreaterThan(dot(query, unrelated) + 0.1);
    expect(Math.abs(dot(query, unrelated))).toBeLessThan(0.15);
  });

  it('matches misspellings and compounds through character n-grams', async () => {
    const [query, typo, other] = await embedder.embedDocuments(['embeddings', 'embedings', 'kubernetes']);
    expect(dot(query, typo)).toBeGreaterThan(0.3);
    expect(dot(query, typo)).toBeGreaterThan(dot(query, other) + 0.3);
  });

  it('is a bag of word fragments: word order does not matter, whole words carry no extra feature', async () => {
    const [a, b] = await embedder.embedDocuments(['build index fast', 'fast index build']);
    expect(dot(a, b)).toBeCloseTo(1, 5);
  });

  it('keeps words too short for a 4-gram as one feature each', async () => {
    const [uk, five, other] = await embedder.embedDocuments(['UK', '5', 'US']);
    expect(isZeroVector(uk)).toBe(false);
    expect(isZeroVector(five)).toBe(false);
    expect(dot(uk, await embedder.embedQuery('uk'))).toBeCloseTo(1, 5);
    expect(Math.abs(dot(uk, other))).toBeLessThan(0.5);
  });

  it('returns the zero vector, never NaN, for text without features', async () => {
    const vectors = await embedder.embedDocuments(['', '   \n\t', 'the of and', '!!! ---', 'a b c']);
    for (const vector of vectors) {
      expect(vector).toHaveLength(384);
      expect(vector.some(Number.isNaN)).toBe(false);
      expect(isZeroVector(vector)).toBe(true);
    }
    expect(isZeroVector(await embedder.embedQuery('stop'))).toBe(false);
  });

  it('handles an empty batch', async () => {
    expect(await embedder.embedDocuments([])).toEqual([]);
  });

  it('embeds 150-word chunks well under a millisecond each', async () => {
    const vocabulary =
      'vector search index query document chunk embedding retrieval ranking score model token language ' +
      'answer context passage relevance latency throughput cluster shard replica storage memory cache ' +
      'network request response server client batch stream pipeline worker schedule deploy monitor';
    const words = vocabulary.split(' ');
    let seed = 7;
    const chunks = Array.from({ length: 1000 }, () =>
      Array.from({ length: 150 }, () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return words[(seed >>> 16) % words.length];
      }).join(' '),
    );
    await embedder.embedDocuments(chunks.slice(0, 100));
    const started = performance.now();
    await embedder.embedDocuments(chunks);
    const perChunkMs = (performance.now() - started) / chunks.length;
    // ~0.1 ms on the 2-core reference machine; the bound leaves room for a loaded CI host.
    expect(perChunkMs).toBeLessThan(1);
  });
});

describe('isZeroVector', () => {
  it('is true only when every component is 0', () => {
    expect(isZeroVector([0, 0, 0])).toBe(true);
    expect(isZeroVector(new Float32Array(4))).toBe(true);
    expect(isZeroVector([])).toBe(true);
    expect(isZeroVector([0, 1e-9, 0])).toBe(false);
  });
});
