/**
 * Owns reading a markdown file: decoded and normalized but kept as markdown, since the chunker cuts it at
 * its headings; the title is the first level-one ATX heading.
 */
import { normalizeLabel, normalizeText } from '../../domain/normalization/text.normalizer.js';
import type { ExtractedText } from './extraction.types.js';
import { decodeText } from './text.decoder.js';

const HEADING_1 = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

export function extractMarkdown(bytes: Uint8Array): ExtractedText {
  const text = normalizeText(decodeText(bytes), { preserveIndentation: true });
  const title = markdownTitle(text);
  return title === undefined ? { text } : { text, title };
}

/** The first `# ` heading outside front matter and code fences, where a `#` line is a comment. */
export function markdownTitle(markdown: string): string | undefined {
  const lines = markdown.split('\n');
  let index = frontMatterEnd(lines);
  let fence: string | undefined;
  for (; index < lines.length; index++) {
    const line = lines[index];
    const fenceMatch = FENCE.exec(line);
    if (fence !== undefined) {
      // A fence closes with the same character, at least as long as the one that opened it.
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length)
        fence = undefined;
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      continue;
    }
    const heading = HEADING_1.exec(line);
    const title = heading ? normalizeLabel(heading[1]) : undefined;
    if (title !== undefined) return title;
  }
  return undefined;
}

/** Index of the first line after a leading YAML front matter block, or 0 when there is none. */
function frontMatterEnd(lines: string[]): number {
  if (lines[0] !== '---') return 0;
  for (let index = 1; index < lines.length; index++) {
    if (lines[index] === '---' || lines[index] === '...') return index + 1;
  }
  return 0;
}
