import { normalizeQuery, QUERY_MAX_CHARS, type ChatTurn } from '#contracts';
import { STOP_WORD_LANGUAGES, STOP_WORDS } from './stop-words.js';
import { detectLanguage, stopWordsOf } from './detect-language.js';

/**
 * The deterministic way to make a follow-up question stand alone, used when no LLM is configured or the
 * LLM failed. A follow-up with few key terms of its own ("and its side effects?") leans on what was
 * asked before, so the previous question's key terms are put in front of it; a follow-up with enough
 * terms of its own is searched as it is. Assistant turns are not mined: they are long, and their terms
 * would drown the user's.
 */

/** A follow-up with fewer key terms than this borrows the previous question's. */
export const SHORT_QUESTION_TERMS = 3;
/** At most this many terms are borrowed, so a long earlier turn cannot bury the follow-up. */
export const BORROWED_TERMS_MAX = 8;
/** Longer "terms" are not words (encoded data, long identifiers) and are not borrowed. */
const TERM_MAX_CHARS = 64;

// Words with inner hyphens or apostrophes (IL-6, COVID-19, O'Brien) stay whole.
const TERM = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;
const ALL_STOP_WORDS: ReadonlySet<string> = new Set(STOP_WORD_LANGUAGES.flatMap((l) => [...STOP_WORDS[l]]));

export function condenseByRule(history: readonly ChatTurn[], question: string): string {
  const asked = normalizeQuery(question);
  const previous = history
    .filter((turn) => turn.role === 'user')
    .map((turn) => normalizeQuery(turn.content))
    // A client may repeat the current question as the last turn; it is not an earlier one.
    .filter((content) => content.length > 0 && content.toLowerCase() !== asked.toLowerCase())
    .at(-1);
  if (previous === undefined) return asked;
  const language = detectLanguage(`${previous} ${asked}`);
  const stop = language === 'und' ? ALL_STOP_WORDS : stopWordsOf(language);
  const own = keyTerms(asked, stop);
  if (own.length >= SHORT_QUESTION_TERMS) return asked;
  const ownLower = new Set(own.map((t) => t.toLowerCase()));
  const borrowed = keyTerms(previous, stop)
    .filter((t) => t.length <= TERM_MAX_CHARS && !ownLower.has(t.toLowerCase()))
    .slice(0, BORROWED_TERMS_MAX);
  const condensed = `${borrowed.join(' ')}: ${asked}`;
  // The result is searched as a query, so it keeps within a query's bound.
  return borrowed.length === 0 || condensed.length > QUERY_MAX_CHARS ? asked : condensed;
}

/** The words of a text that are not function words, once each, in order, as written. */
export function keyTerms(text: string, stopWords: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  const terms: string[] = [];
  for (const term of text.match(TERM) ?? []) {
    const lower = term.toLowerCase();
    if (stopWords.has(lower) || seen.has(lower)) continue;
    seen.add(lower);
    terms.push(term);
  }
  return terms;
}
