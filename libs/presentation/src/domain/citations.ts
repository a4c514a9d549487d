/**
 * Turns a generated answer and the sources it was given into what the client sees: citation markers
 * checked against the sources, renumbered densely in order of first use, and the cited sources listed.
 *
 * Markers understood: `[1]`, `[2, 3]`, `[2; 3]`, `[1-3]` (also with an en or em dash), and runs of them
 * such as `[1][2]` or `[1] [2]`. Canonical output: every run becomes one marker per source, sorted and
 * without repeats, written back to back: `[1][2]`.
 */
import type { Citation, PresentResponse, SearchHit } from '#contracts';

const MARKER = String.raw`\[\s*\d+(?:\s*[,;\-–—]\s*\d+)*\s*\]`;
/** A run of markers separated by nothing or by spaces on the same line. */
const MARKER_RUN = new RegExp(String.raw`${MARKER}(?:[ \t]*${MARKER})*`, 'g');
const MARKER_ONLY = new RegExp(MARKER, 'g');
const PART = /(\d+)(?:\s*[-–—]\s*(\d+))?/g;
const SPACE_AT_END = /[ \t]+$/;
const SPACE_AHEAD = /[ \t]*/y;
/** What may follow a removed marker with no space before it: "big [9]." becomes "big.". */
const CLOSING = /[\n.,;:!?)\]}”’]/;

const ascending = (a: number, b: number): number => a - b;
const toMarker = (n: number): string => `[${n}]`;

/** `sources[i]` is citation number i + 1 in the answer. */
export function presentAnswer(answer: string, sources: SearchHit[]): PresentResponse {
  const renumbered = new Map<number, number>();
  let text = '';
  let rest = 0;
  for (const run of answer.matchAll(MARKER_RUN)) {
    const before = answer.slice(rest, run.index);
    rest = run.index + run[0].length;
    const cited = [...new Set(citedSources(run[0], sources.length).map((n) => assign(renumbered, n)))];
    if (cited.length > 0) {
      text += before + cited.sort(ascending).map(toMarker).join('');
      continue;
    }
    // The run cites no source that exists: drop it and mend the spacing around it.
    const kept = before.replace(SPACE_AT_END, '');
    SPACE_AHEAD.lastIndex = rest;
    SPACE_AHEAD.exec(answer);
    const spaced = kept.length < before.length || SPACE_AHEAD.lastIndex > rest;
    rest = SPACE_AHEAD.lastIndex;
    text += kept;
    const atLineStart = text.length === 0 || text.endsWith('\n');
    const next = answer.charAt(rest);
    if (spaced && !atLineStart && next !== '' && !CLOSING.test(next)) text += ' ';
  }
  text += answer.slice(rest);
  const citations: Citation[] = [];
  for (const [original, index] of renumbered) {
    const { documentId, chunkId, title, text: sourceText, score } = sources[original - 1];
    citations.push({ index, documentId, chunkId, title, text: sourceText, score });
  }
  return { answer: text, citations };
}

/** The source numbers a run cites, in written order, keeping only those within 1..count. */
function citedSources(run: string, count: number): number[] {
  const cited: number[] = [];
  for (const marker of run.match(MARKER_ONLY) ?? []) {
    for (const [, first, last] of marker.matchAll(PART)) {
      const from = Number(first);
      const to = last === undefined ? from : Number(last);
      // Clamped so that a marker like [1-999999] never iterates past the sources that exist.
      const high = Math.min(Math.max(from, to), count);
      for (let n = Math.max(Math.min(from, to), 1); n <= high; n++) cited.push(n);
    }
  }
  return cited;
}

function assign(renumbered: Map<number, number>, original: number): number {
  let index = renumbered.get(original);
  if (index === undefined) {
    index = renumbered.size + 1;
    renumbered.set(original, index);
  }
  return index;
}
