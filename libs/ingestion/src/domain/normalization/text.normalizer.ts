/**
 * Owns the moderate clean-up applied to every document's text before chunking: Unicode NFC, one kind of
 * line break, no control characters, collapsed horizontal whitespace and at most one blank line in a row.
 */

export interface NormalizeTextOptions {
  /** Keep leading indentation, which carries structure in markdown (nested lists, indented code). */
  preserveIndentation?: boolean;
}

// C0 and C1 controls except tab, line feed, vertical tab, form feed and carriage return (handled as whitespace).
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F]/g;
const LINE_BREAKS = /\r\n?|[\u2028\u2029\u0085]/g;
// `[^\S\n]` is every whitespace character but the line feed: tabs, NBSP, the Unicode spaces, BOM.
const HORIZONTAL_RUNS = /[^\S\n]+/g;
const INNER_HORIZONTAL_RUNS = /(?<=\S)[^\S\n]+/g;
const BLANK_LINE_CONTENT = /^[^\S\n]+$/gm;
const SPACES_AROUND_LINE_BREAKS = / *\n */g;
const TRAILING_SPACES = / +$/gm;
const EXCESS_LINE_BREAKS = /\n{3,}/g;

export function normalizeText(text: string, options: NormalizeTextOptions = {}): string {
  // NEL (U+0085) is a C1 control but means a line break, so line breaks are unified before controls go.
  const unified = text.normalize('NFC').replace(LINE_BREAKS, '\n').replace(CONTROL_CHARACTERS, '');
  if (options.preserveIndentation) {
    return unified
      .replace(BLANK_LINE_CONTENT, '')
      .replace(INNER_HORIZONTAL_RUNS, ' ')
      .replace(TRAILING_SPACES, '')
      .replace(EXCESS_LINE_BREAKS, '\n\n')
      .replace(/^\n+/, '')
      .trimEnd();
  }
  return unified
    .replace(HORIZONTAL_RUNS, ' ')
    .replace(SPACES_AROUND_LINE_BREAKS, '\n')
    .replace(EXCESS_LINE_BREAKS, '\n\n')
    .trim();
}

/** A single-line form for titles and other short labels; `undefined` when nothing is left. */
export function normalizeLabel(label: string | null | undefined): string | undefined {
  if (label == null) return undefined;
  const normalized = normalizeText(label).replace(/\n+/g, ' ');
  return normalized === '' ? undefined : normalized;
}
