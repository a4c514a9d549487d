/**
 * The default, model-free generator: answers with the source sentences that best support the question,
 * each cited as [n]. Sentences are scored by BM25 over the sentences of all the sources, so that rare
 * question terms weigh more than ones every source repeats.
 */
import {
  NO_SOURCES_ANSWER,
  UNANSWERABLE_ANSWER,
  type GenerateRequest,
  type GenerateResponse,
  type GenerationSource,
} from '#contracts';
import type { Analyzer } from '#text-analysis';
import { splitSentences } from './sentence.splitter.js';

export interface ExtractiveGeneratorOptions {
  /** The platform's `englishAnalyzer` in production, so answers match terms the way search does. */
  analyzer: Analyzer;
  /** Most sentences in an answer (default 3). */
  maxSentences?: number;
  /** Longest answer, citation markers included (default 600 characters). */
  maxChars?: number;
}

interface Candidate {
  source: GenerationSource;
  /** 0 for the best-ranked source, 1 for the next, and so on. */
  rank: number;
  position: number;
  text: string;
  terms: string[];
  termSet: Set<string>;
  score: number;
}

const K1 = 1.2;
const B = 0.75;
/** Higher-ranked sources win ties between comparable sentences, but never outweigh a better match. */
const RANK_BONUS = 0.1;
const SHORT_SENTENCE_CHARS = 20;
const LONG_SENTENCE_CHARS = 300;
const MIN_LENGTH_FACTOR = 0.5;
/** A sentence scoring below this share of the best one is padding rather than support. */
const MIN_RELATIVE_SCORE = 0.35;
const MAX_TERM_OVERLAP = 0.8;
/** Markers the source itself carries (e.g. from Wikipedia) would be mistaken for our citations. */
const INLINE_CITATION = /\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]/g;
/** A word with the white space after it, so that the pieces join back into the answer exactly. */
const WORD_PIECE = /\S+\s*/g;

export class ExtractiveGenerator {
  readonly model = 'extractive-v1';
  private readonly analyzer: Analyzer;
  private readonly maxSentences: number;
  private readonly maxChars: number;

  constructor(options: ExtractiveGeneratorOptions) {
    this.analyzer = options.analyzer;
    this.maxSentences = options.maxSentences ?? 3;
    this.maxChars = options.maxChars ?? 600;
    if (!Number.isInteger(this.maxSentences) || this.maxSentences < 1) {
      throw new RangeError(`maxSentences must be a positive integer, got ${this.maxSentences}`);
    }
    if (!Number.isInteger(this.maxChars) || this.maxChars < 40) {
      throw new RangeError(`maxChars must be an integer of at least 40, got ${this.maxChars}`);
    }
  }

  async generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResponse> {
    signal?.throwIfAborted();
    return { answer: this.answer(request), model: this.model };
  }

  /** The whole answer is known at once; it is handed out word by word so it reads like a model's stream. */
  async *stream(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<string> {
    signal?.throwIfAborted();
    for (const piece of this.answer(request).match(WORD_PIECE) ?? []) {
      signal?.throwIfAborted();
      yield piece;
    }
  }

  private answer({ query, sources }: GenerateRequest): string {
    if (sources.length === 0) return NO_SOURCES_ANSWER;
    const queryTerms = [...new Set(this.analyzer.terms(query))];
    const candidates = this.candidates(sources);
    score(candidates, queryTerms);
    const chosen = this.select(candidates.filter((c) => c.score > 0).sort(byScore));
    if (chosen.length === 0) return UNANSWERABLE_ANSWER;
    return chosen
      .sort((a, b) => a.rank - b.rank || a.position - b.position)
      .map((c) => `${c.text} [${c.source.index}]`)
      .join(' ');
  }

  private candidates(sources: GenerationSource[]): Candidate[] {
    const ranked = [...sources].sort((a, b) => a.index - b.index);
    const candidates: Candidate[] = [];
    ranked.forEach((source, rank) => {
      splitSentences(source.text).forEach((sentence, position) => {
        const text = sentence.replace(INLINE_CITATION, '');
        const terms = this.analyzer.terms(text);
        if (terms.length === 0) return;
        candidates.push({ source, rank, position, text, terms, termSet: new Set(terms), score: 0 });
      });
    });
    return candidates;
  }

  /** Greedy by score: skips near-duplicates and what no longer fits, truncating only a lone best sentence. */
  private select(byBestFirst: Candidate[]): Candidate[] {
    const chosen: Candidate[] = [];
    if (byBestFirst.length === 0) return chosen;
    const floor = byBestFirst[0].score * MIN_RELATIVE_SCORE;
    let used = 0;
    for (const candidate of byBestFirst) {
      if (chosen.length === this.maxSentences || candidate.score < floor) break;
      if (chosen.some((c) => overlap(c.termSet, candidate.termSet) > MAX_TERM_OVERLAP)) continue;
      const cost = citedLength(candidate) + (chosen.length > 0 ? 1 : 0);
      if (used + cost <= this.maxChars) {
        chosen.push(candidate);
        used += cost;
      } else if (chosen.length === 0) {
        const room = this.maxChars - (citedLength(candidate) - candidate.text.length);
        chosen.push({ ...candidate, text: truncate(candidate.text, room) });
        used = this.maxChars;
      }
    }
    return chosen;
  }
}

function score(candidates: Candidate[], queryTerms: string[]): void {
  if (candidates.length === 0 || queryTerms.length === 0) return;
  const documentFrequency = queryTerms.map(() => 0);
  let totalLength = 0;
  for (const c of candidates) {
    totalLength += c.terms.length;
    queryTerms.forEach((t, i) => {
      if (c.termSet.has(t)) documentFrequency[i]++;
    });
  }
  const n = candidates.length;
  const averageLength = totalLength / n;
  // BM25's idf, kept positive so that a term in every sentence still counts a little.
  const idf = documentFrequency.map((df) => Math.log(1 + (n - df + 0.5) / (df + 0.5)));
  for (const c of candidates) {
    const norm = K1 * (1 - B + (B * c.terms.length) / averageLength);
    let bm25 = 0;
    queryTerms.forEach((t, i) => {
      if (!c.termSet.has(t)) return;
      const tf = countOf(c.terms, t);
      bm25 += (idf[i] * tf * (K1 + 1)) / (tf + norm);
    });
    c.score = bm25 * (1 + RANK_BONUS / (1 + c.rank)) * lengthFactor(c.text.length);
  }
}

function countOf(terms: string[], term: string): number {
  let count = 0;
  for (const t of terms) if (t === term) count++;
  return count;
}

function lengthFactor(chars: number): number {
  if (chars < SHORT_SENTENCE_CHARS) return Math.max(MIN_LENGTH_FACTOR, chars / SHORT_SENTENCE_CHARS);
  if (chars > LONG_SENTENCE_CHARS) return Math.max(MIN_LENGTH_FACTOR, LONG_SENTENCE_CHARS / chars);
  return 1;
}

/** Overlap coefficient: a sentence mostly contained in another (overlapping chunks) counts as a duplicate. */
function overlap(a: Set<string>, b: Set<string>): number {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const t of small) if (large.has(t)) shared++;
  return shared / small.size;
}

function byScore(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.rank - b.rank || a.position - b.position;
}

function citedLength(c: Candidate): number {
  return c.text.length + ` [${c.source.index}]`.length;
}

function truncate(text: string, room: number): string {
  const cut = text.slice(0, room - 1);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > room / 2 ? cut.slice(0, lastSpace) : cut).replace(/[\s,;:]+$/, '')}…`;
}
