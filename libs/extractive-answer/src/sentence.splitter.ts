/**
 * Sentence segmentation for extractive answering: rule-based, deterministic and allocation-light. It
 * favours not splitting when unsure, because a sentence cut at an abbreviation reads worse in an answer
 * than two sentences left joined.
 */

/** Abbreviations (lower case, without their final dot) that are followed by more of the same sentence. */
const NON_TERMINAL_ABBREVIATIONS = new Set(
  (
    'al approx ca cf ch dept dr eq eqs esp fig figs incl jr mr mrs ms mt no nos p pp prof ref refs ' +
    'sec sr st tab viz vol vols vs'
  ).split(' '),
);
/**
 * Blank lines, list items and the line after a Markdown heading start a new block whatever the punctuation.
 * Every branch starts at a line feed so that the engine only tries the look-behind there.
 */
const BLOCK_BREAK =
  /\n(?:[ \t]*\n|(?=[ \t]*(?:[-*+•]|#{1,6}|\d{1,3}[.)])[ \t])|(?<=^[ \t]*#{1,6}[ \t][^\n]*\n))/m;
const BLOCK_PREFIX = /^(?:[-*+•]|#{1,6}|\d{1,3}[.)])[ \t]+/;
/** Terminal punctuation, possibly closed by quotes or brackets, then white space: a candidate boundary. */
const CANDIDATE_END = /[.!?…]+["'”’)\]]*(?=\s)/g;
/** "e.g", "U.S", "i.e": letters separated by dots, the last dot being the one under test. */
const DOTTED_ABBREVIATION = /^(?:\p{L}\.)+\p{L}$/u;
const LOWER_CASE_START = /^\p{Ll}/u;
const UPPER_CASE_LETTER = /^\p{Lu}$/u;

export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const rawBlock of text.replace(/\r\n?/g, '\n').split(BLOCK_BREAK)) {
    const block = rawBlock.replace(/\s+/g, ' ').trim().replace(BLOCK_PREFIX, '');
    if (block.length > 0) splitBlock(block, sentences);
  }
  return sentences;
}

function splitBlock(block: string, into: string[]): void {
  let start = 0;
  for (const match of block.matchAll(CANDIDATE_END)) {
    const end = match.index + match[0].length;
    // The block's white space is collapsed, so the next sentence (if any) starts one character later.
    if (!isSentenceEnd(block, match.index, match[0], block.slice(end + 1, end + 2))) continue;
    into.push(block.slice(start, end));
    start = end + 1;
  }
  if (start < block.length) into.push(block.slice(start));
}

function isSentenceEnd(block: string, at: number, punctuation: string, next: string): boolean {
  // A lower-case continuation means the dot closed an abbreviation we do not know ("approx. five").
  if (LOWER_CASE_START.test(next)) return false;
  if (punctuation[0] !== '.' || punctuation.startsWith('..')) return true;
  const word = block
    .slice(block.lastIndexOf(' ', at) + 1, at)
    .replace(/^["'“‘([]+/, '')
    .toLowerCase();
  if (NON_TERMINAL_ABBREVIATIONS.has(word) || DOTTED_ABBREVIATION.test(word)) return false;
  // A single capital before the dot is an initial ("J. R. Tolkien").
  const isInitial = word.length === 1 && UPPER_CASE_LETTER.test(block[at - 1]);
  return !isInitial;
}
