import { STOP_WORD_LANGUAGES, STOP_WORDS, type StopWordLanguage } from './stop-words.js';

/**
 * Language identification for questions: small, offline and deterministic, so it costs nothing on the
 * query path and two processes always agree. A script of its own names the language at once (kana:
 * Japanese, Hangul: Korean, Han alone: Chinese, Cyrillic: Russian, Arabic); Latin text is matched
 * against stop-word profiles, since a question is mostly function words around one or two content words.
 * When the evidence is absent or tied, the answer is `und` (ISO 639-2's "undetermined") rather than a
 * guess.
 */
export type Language = StopWordLanguage | 'zh' | 'ja' | 'ko' | 'ru' | 'ar' | 'und';

const SCRIPTS = {
  han: /\p{Script=Han}/gu,
  kana: /[\p{Script=Hiragana}\p{Script=Katakana}]/gu,
  hangul: /\p{Script=Hangul}/gu,
  cyrillic: /\p{Script=Cyrillic}/gu,
  arabic: /\p{Script=Arabic}/gu,
};
const LETTER = /\p{L}/gu;
const WORD = /\p{L}+/gu;

/** Letters only one of the profiled languages writes: a tie-breaker between close neighbours. */
const OWN_LETTERS: Partial<Record<StopWordLanguage, RegExp>> = {
  de: /[äöüß]/g,
  es: /[ñ¿¡]/g,
  pt: /[ãõ]/g,
};

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

export function detectLanguage(text: string): Language {
  const letters = count(text, LETTER);
  if (letters === 0) return 'und';
  const share = (pattern: RegExp) => count(text, pattern) / letters;
  const kana = share(SCRIPTS.kana);
  const han = share(SCRIPTS.han);
  // Japanese writes Han characters too; any kana beside them says Japanese.
  if (kana > 0 && kana + han >= 0.5) return 'ja';
  if (share(SCRIPTS.hangul) >= 0.5) return 'ko';
  if (han >= 0.5) return 'zh';
  if (share(SCRIPTS.cyrillic) >= 0.5) return 'ru';
  if (share(SCRIPTS.arabic) >= 0.5) return 'ar';
  return byStopWords(text);
}

function byStopWords(text: string): Language {
  const lower = text.toLowerCase();
  const tokens = lower.match(WORD) ?? [];
  const scores = STOP_WORD_LANGUAGES.map((language) => {
    const own = OWN_LETTERS[language];
    let score = own ? count(lower, own) : 0;
    for (const token of tokens) if (STOP_WORDS[language].has(token)) score += 1;
    return { language, score };
  }).sort((a, b) => b.score - a.score);
  const [best, second] = scores;
  return best.score > 0 && best.score > second.score ? best.language : 'und';
}

/** The language's stop words, to tell a turn's key terms from its function words (none when unknown). */
export function stopWordsOf(language: Language): ReadonlySet<string> {
  return (STOP_WORDS as Partial<Record<Language, ReadonlySet<string>>>)[language] ?? new Set();
}
