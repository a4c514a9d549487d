/**
 * The lexical analyzer shared by the BM25 index (ingestion writes postings with it, retrieval analyses
 * queries with it), the extractive answerer and the hashing embedder. Index and query sides must run the
 * very same analysis, so changing its output means a new `name` (and a re-index).
 *
 * Pipeline: NFKC normalisation (skipped for pure-ASCII text, where it is the identity) with Latin/Greek/
 * Cyrillic diacritics folded, lower-casing, Unicode tokenisation into runs of letters and digits (marks
 * stay inside a word so Indic and similar scripts are not cut apart), then per token: drop tokens over 64
 * chars and single non-digit characters, drop Lucene's classic English stop words, Porter-stem.
 *
 * Known limit: scripts written without spaces (Chinese, Japanese, Thai) come out as one token per run,
 * which is dropped when longer than 64 chars; there is no dictionary segmentation here.
 */
import { stemmer } from 'stemmer';

export interface Analyzer {
  readonly name: string;
  terms(text: string): string[];
}

/** Receives each kept token: `word` is its normalised, lower-cased surface form, `term` its stem. */
export type TokenVisitor = (word: string, term: string) => void;

const MAX_TOKEN_LENGTH = 64;

// Lucene's classic English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no',
  'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to',
  'was', 'will', 'with',
]); // prettier-ignore

// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const NON_ASCII = /[^\x00-\x7f]/;
// Only the combining diacritical marks block: folding "é" to "e" helps search, while stripping every
// \p{M} would destroy the vowel signs of Devanagari, Thai and the like.
const COMBINING_DIACRITICS = /[\u0300-\u036f]+/g;
// Letters that carry a diacritic-like stroke but have no canonical decomposition.
const UNDECOMPOSABLE = /[ßæœøłđþı]/g;
const UNDECOMPOSABLE_FOLDS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  þ: 'th',
  ı: 'i',
};
// Tokens are a letter or digit followed by letters, digits and marks. ASCII is classified by table (the
// common case, and several times faster than a Unicode regex; the text is lower-case by then); other code
// points by sticky regexes, which test in place without allocating.
const ASCII_WORD = new Uint8Array(128);
for (const [from, to] of ['09', 'az']) {
  for (let code = from.charCodeAt(0); code <= to.charCodeAt(0); code++) ASCII_WORD[code] = 1;
}
const WORD_START = /[\p{L}\p{N}]/uy;
const WORD_PART = /[\p{L}\p{N}\p{M}]/uy;
const ASCII_DIGITS = /^[0-9]+$/;
const SINGLE_NUMBER = /^\p{N}$/u;

// Word frequencies are Zipfian, so a memo of stems removes most of the Porter stemmer's regex work.
// It is cleared when full rather than evicted one by one: cheap, and its output never depends on it.
const STEM_CACHE_LIMIT = 50_000;
const stemCache = new Map<string, string>();

function stem(word: string): string {
  let cached = stemCache.get(word);
  if (cached === undefined) {
    cached = ASCII_DIGITS.test(word) ? word : stemmer(word);
    if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
    stemCache.set(word, cached);
  }
  return cached;
}

function normalise(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // NFKD splits accents off their letters (and compatibility forms such as ligatures and full-width
  // letters into plain ones); with the accents gone, NFC recomposes what remains, giving NFKC text.
  // Lower-casing comes after the folding so that "İ" ends as "i", not "i" plus a combining dot.
  return text
    .normalize('NFKD')
    .replace(COMBINING_DIACRITICS, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(UNDECOMPOSABLE, (ch) => UNDECOMPOSABLE_FOLDS[ch]);
}

/** The UTF-16 length of the word character at `index` (2 for an astral one), or 0 for a separator. */
function wordCharLength(text: string, index: number, code: number, pattern: RegExp): number {
  if (code < 0x80) return ASCII_WORD[code];
  pattern.lastIndex = index;
  return pattern.test(text) ? pattern.lastIndex - index : 0;
}

function isNumber(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code >= 0x30 && code <= 0x39) || (code > 0x7f && SINGLE_NUMBER.test(char));
}

/** Runs the English analysis, calling `visit` for each kept token in text order. */
export function forEachEnglishToken(text: string, visit: TokenVisitor): void {
  const normalised = normalise(text);
  const end = normalised.length;
  let index = 0;
  while (index < end) {
    const code = normalised.charCodeAt(index);
    const first = wordCharLength(normalised, index, code, WORD_START);
    if (first === 0) {
      index++;
      continue;
    }
    const start = index;
    index += first;
    while (index < end) {
      const width = wordCharLength(normalised, index, normalised.charCodeAt(index), WORD_PART);
      if (width === 0) break;
      index += width;
    }
    const length = index - start;
    if (length > MAX_TOKEN_LENGTH) continue;
    if (length === 1 && !isNumber(normalised[start])) continue;
    const word = normalised.slice(start, index);
    if (STOP_WORDS.has(word)) continue;
    visit(word, stem(word));
  }
}

export const englishAnalyzer: Analyzer = {
  name: 'english-v1',
  terms(text: string): string[] {
    const out: string[] = [];
    forEachEnglishToken(text, (_word, term) => out.push(term));
    return out;
  },
};

export function termFrequencies(terms: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}
