/**
 * A local, deterministic embedder by signed feature hashing ("the hashing trick"). It needs no model and
 * no network, which makes it the default for a laptop and for tests.
 *
 * It is LEXICAL, not semantic: two texts are close when they share word fragments, not when they mean the
 * same thing in different words ("car" and "automobile" are unrelated to it). Its job in hybrid search is
 * to add what BM25 lacks, so it deliberately holds NO whole-word features: BM25 already scores stemmed
 * terms, with idf, far better than an unweighted hashed copy of them could. Measured on BEIR SciFact
 * (train queries), fusing BM25 with a unigram+bigram+char-gram vector scored below BM25 alone at every
 * weight, while fusing it with char-grams only scores above it.
 *
 * Features: the character 4..6-grams of each kept word of `forEachEnglishToken` (stop words removed),
 * unstemmed and lower-cased, wrapped in boundary markers ("<word>"). They match inflections the stemmer
 * misses, compounds, hyphenated and chemical names, and typos. 3-grams are left out: shared by too many
 * unrelated words ("<th", "ion"), they made the fused ranking worse. A word too short to hold a 4-gram
 * ("uk", "5") counts as one feature, its whole wrapped form, so that it is not lost.
 * Each feature is hashed (FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche) to a
 * bucket with a sign taken from an independent mix of the same hash, so collisions cancel on average
 * instead of piling up. Each distinct feature contributes 1 + ln tf (sublinear, so one repeated word
 * cannot dominate), and the sum is L2-normalised.
 *
 * A text with no features (empty, whitespace, only stop words or punctuation) gets the all-zero vector,
 * never NaN; callers can recognise it with `isZeroVector` from `./embedder.js`.
 */
import { yieldToEventLoop } from '#platform';
import { forEachEnglishToken } from '#text-analysis';
import type { Embedder } from './embedder.js';

export interface HashingEmbedderOptions {
  dimensions: number;
}

// The feature design is part of the model name: vectors of another design must not be mixed with these.
const MODEL_VERSION = 'hashing-v2';
const MIN_CHAR_NGRAM = 4;
const MAX_CHAR_NGRAM = 6;

const FNV_PRIME = 0x01000193;
const CHAR_NGRAM_SEED = 0x6b43a9b5;
const SIGN_SALT = 0x9e3779b9;
const BOUNDARY_START = 0x3c; // '<'
const BOUNDARY_END = 0x3e; // '>'

// Yield to the event loop between slices of a large batch, so ingesting thousands of chunks does not
// stall every other request of the process for seconds.
const YIELD_EVERY = 256;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A growable list of 32-bit feature hashes, reused across texts to avoid per-text allocation. */
class HashList {
  values = new Uint32Array(1024);
  length = 0;

  push(hash: number): void {
    if (this.length === this.values.length) {
      const grown = new Uint32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = hash;
  }
}

/**
 * Counts equal hashes with an open-addressing table (linear probing) reused across texts: O(n), and about
 * twice as fast as sorting the hashes and counting runs. A slot is free while its count is 0.
 */
class FeatureCounter {
  keys = new Uint32Array(4096);
  counts = new Uint32Array(4096);
  used = new Uint32Array(4096);
  distinct = 0;

  count(list: HashList): void {
    this.reserve(list.length);
    const { keys, counts, used } = this;
    const mask = keys.length - 1;
    const hashes = list.values;
    let distinct = 0;
    for (let i = 0; i < list.length; i++) {
      const hash = hashes[i];
      let slot = hash & mask;
      while (counts[slot] !== 0 && keys[slot] !== hash) slot = (slot + 1) & mask;
      if (counts[slot] === 0) {
        keys[slot] = hash;
        used[distinct++] = slot;
      }
      counts[slot]++;
    }
    this.distinct = distinct;
  }

  clear(): void {
    for (let j = 0; j < this.distinct; j++) this.counts[this.used[j]] = 0;
    this.distinct = 0;
  }

  /** Keeps the load factor at or under 1/2 so probes stay short. */
  private reserve(entries: number): void {
    let capacity = this.keys.length;
    while (capacity < entries * 2) capacity *= 2;
    if (capacity === this.keys.length) return;
    this.keys = new Uint32Array(capacity);
    this.counts = new Uint32Array(capacity);
    this.used = new Uint32Array(capacity);
  }
}

export class HashingEmbedder implements Embedder {
  readonly provider = 'hashing';
  readonly model: string;
  readonly dimensions: number;

  private readonly charNgrams = new HashList();
  private readonly counter = new FeatureCounter();
  private readonly accumulator: Float32Array;

  constructor(options: HashingEmbedderOptions) {
    const { dimensions } = options;
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw new Error(`HashingEmbedder: dimensions must be a positive integer, got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.model = `${MODEL_VERSION}-d${dimensions}`;
    this.accumulator = new Float32Array(dimensions);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const vectors: number[][] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
      vectors[i] = this.embed(texts[i]);
    }
    return vectors;
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embed(text);
  }

  /** Synchronous on purpose: the shared buffers are safe to reuse because nothing awaits in here. */
  private embed(text: string): number[] {
    const charNgrams = this.charNgrams;
    charNgrams.length = 0;
    forEachEnglishToken(text, (word) => pushCharNgrams(word, charNgrams));
    const acc = this.accumulator;
    acc.fill(0);
    this.accumulate(charNgrams);

    let sumSquares = 0;
    for (let i = 0; i < acc.length; i++) sumSquares += acc[i] * acc[i];
    if (sumSquares > 0) {
      const inverseNorm = 1 / Math.sqrt(sumSquares);
      for (let i = 0; i < acc.length; i++) acc[i] *= inverseNorm;
    }
    // An indexed copy: Array.from on a typed array is an order of magnitude slower here.
    const vector: number[] = new Array(acc.length);
    for (let i = 0; i < acc.length; i++) vector[i] = acc[i];
    return vector;
  }

  /** Each distinct hash is one feature, contributing 1 + ln tf. */
  private accumulate(list: HashList): void {
    const counter = this.counter;
    counter.count(list);
    const acc = this.accumulator;
    const dims = this.dimensions;
    const { keys, counts, used } = counter;
    for (let j = 0; j < counter.distinct; j++) {
      const slot = used[j];
      const hash = keys[slot];
      const value = 1 + Math.log(counts[slot]);
      acc[hash % dims] += (fmix32(hash ^ SIGN_SALT) & 1) === 0 ? value : -value;
    }
    counter.clear();
  }
}

/**
 * Hashes the 4..6-grams of "<word>" without building the wrapped string or any substring; a word whose
 * wrapped form is shorter than a 4-gram is hashed whole instead.
 */
function pushCharNgrams(word: string, out: HashList): void {
  const wrappedLength = word.length + 2;
  const lastIndex = wrappedLength - 1;
  const minLength = Math.min(MIN_CHAR_NGRAM, wrappedLength);
  for (let start = 0; start + minLength <= wrappedLength; start++) {
    let h = CHAR_NGRAM_SEED;
    const stop = Math.min(start + MAX_CHAR_NGRAM, wrappedLength);
    for (let i = start; i < stop; i++) {
      const code = i === 0 ? BOUNDARY_START : i === lastIndex ? BOUNDARY_END : word.charCodeAt(i - 1);
      h = Math.imul(h ^ code, FNV_PRIME);
      if (i - start + 1 >= minLength) out.push(fmix32(h));
    }
  }
}
