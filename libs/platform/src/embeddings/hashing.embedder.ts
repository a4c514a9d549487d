/**
 * A local, deterministic embedder by signed feature hashing ("the hashing trick"). It needs no model and
 * no network, which makes it the default for a laptop and for tests.
 *
 * It is LEXICAL, not semantic: two texts are close when they share words, word pairs and word fragments,
 * not when they mean the same thing in different words ("car" and "automobile" are unrelated to it). It
 * complements BM25 with fuzzier matching (stems, bigrams, sub-word n-grams that survive typos and
 * inflections) but does not replace a real embedding model.
 *
 * Features, each hashed (FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche) to a
 * bucket with a sign taken from an independent mix of the same hash, so collisions cancel on average
 * instead of piling up:
 * - word unigrams: the terms of `englishAnalyzer` (stemmed, stop words removed), weight 1.0;
 * - word bigrams of consecutive terms, weight 0.6: they carry phrase order, but are rarer and sparser;
 * - character 3..5-grams of each kept word, unstemmed and lower-cased, wrapped in boundary markers
 *   ("<word>"), weight 0.2: a 7-letter word yields 18 of them, so at 0.2 they hold about 0.7 of the
 *   squared mass of its unigram, enough to pull typos, compounds and unstemmed variants together
 *   without letting fragments common to unrelated words ("<th", "tion>") outvote whole-word matches.
 * Each distinct feature contributes weight * (1 + ln tf) (sublinear, so one repeated word cannot dominate),
 * and the sum is L2-normalised.
 *
 * A text with no features (empty, whitespace, only stop words or punctuation) gets the all-zero vector,
 * never NaN; callers can recognise it with `isZeroVector` from `./embedder.js`.
 */
import { forEachEnglishToken } from '../text/analyzer.js';
import type { Embedder } from './embedder.js';

export interface HashingEmbedderOptions {
  dimensions: number;
}

const UNIGRAM_WEIGHT = 1.0;
const BIGRAM_WEIGHT = 0.6;
const CHAR_NGRAM_WEIGHT = 0.2;
const MIN_CHAR_NGRAM = 3;
const MAX_CHAR_NGRAM = 5;

// Distinct FNV offset bases per family, so that the word "cat" and the char-gram "cat" are unrelated.
const FNV_PRIME = 0x01000193;
const UNIGRAM_SEED = 0x811c9dc5;
const BIGRAM_SEED = 0x2f2a3b4c;
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

function fnv1a(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
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

  private readonly unigrams = new HashList();
  private readonly bigrams = new HashList();
  private readonly charNgrams = new HashList();
  private readonly counter = new FeatureCounter();
  private readonly accumulator: Float32Array;

  constructor(options: HashingEmbedderOptions) {
    const { dimensions } = options;
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw new Error(`HashingEmbedder: dimensions must be a positive integer, got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.model = `hashing-v1-d${dimensions}`;
    this.accumulator = new Float32Array(dimensions);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const vectors: number[][] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      vectors[i] = this.embed(texts[i]);
    }
    return vectors;
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embed(text);
  }

  /** Synchronous on purpose: the shared buffers are safe to reuse because nothing awaits in here. */
  private embed(text: string): number[] {
    this.collectFeatures(text);
    const acc = this.accumulator;
    acc.fill(0);
    this.accumulate(this.unigrams, UNIGRAM_WEIGHT);
    this.accumulate(this.bigrams, BIGRAM_WEIGHT);
    this.accumulate(this.charNgrams, CHAR_NGRAM_WEIGHT);

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

  private collectFeatures(text: string): void {
    const { unigrams, bigrams, charNgrams } = this;
    unigrams.length = 0;
    bigrams.length = 0;
    charNgrams.length = 0;
    let previous = 0;
    let hasPrevious = false;
    forEachEnglishToken(text, (word, term) => {
      const termHash = fnv1a(term, UNIGRAM_SEED);
      unigrams.push(fmix32(termHash));
      if (hasPrevious) {
        // Order matters ("index build" vs "build index"), hence the asymmetric combination.
        bigrams.push(
          fmix32(Math.imul(previous ^ BIGRAM_SEED, FNV_PRIME) ^ ((termHash << 13) | (termHash >>> 19))),
        );
      }
      previous = termHash;
      hasPrevious = true;
      pushCharNgrams(word, charNgrams);
    });
  }

  /** Adds one family: each distinct hash is one feature, contributing weight * (1 + ln tf). */
  private accumulate(list: HashList, weight: number): void {
    const counter = this.counter;
    counter.count(list);
    const acc = this.accumulator;
    const dims = this.dimensions;
    const { keys, counts, used } = counter;
    for (let j = 0; j < counter.distinct; j++) {
      const slot = used[j];
      const hash = keys[slot];
      const value = weight * (1 + Math.log(counts[slot]));
      acc[hash % dims] += (fmix32(hash ^ SIGN_SALT) & 1) === 0 ? value : -value;
    }
    counter.clear();
  }
}

/** Hashes the 3..5-grams of "<word>" without building the wrapped string or any substring. */
function pushCharNgrams(word: string, out: HashList): void {
  const wrappedLength = word.length + 2;
  const lastIndex = wrappedLength - 1;
  for (let start = 0; start + MIN_CHAR_NGRAM <= wrappedLength; start++) {
    let h = CHAR_NGRAM_SEED;
    const stop = Math.min(start + MAX_CHAR_NGRAM, wrappedLength);
    for (let i = start; i < stop; i++) {
      const code = i === 0 ? BOUNDARY_START : i === lastIndex ? BOUNDARY_END : word.charCodeAt(i - 1);
      h = Math.imul(h ^ code, FNV_PRIME);
      if (i - start + 1 >= MIN_CHAR_NGRAM) out.push(fmix32(h));
    }
  }
}
