/**
 * Owns chunking a file that comes in parts (slides, sheets): a slide's prose is cut as any text, and a
 * table's rows are grouped up to the chunk size with the header row at the head of every group, so each
 * chunk reads on its own. Each chunk carries its part's metadata (slide number, sheet, row range).
 */
import type { Metadata } from '#contracts';
import { chunkText, type ChunkingOptions } from './text.chunker.js';

export interface SectionInput {
  kind: 'prose' | 'table';
  text?: string;
  header?: string;
  rows?: { line: string; number: number }[];
  metadata: Metadata;
}

export interface SectionChunk {
  position: number;
  text: string;
  metadata: Metadata;
}

export async function chunkSections(
  sections: SectionInput[],
  options: ChunkingOptions,
): Promise<SectionChunk[]> {
  const chunks: SectionChunk[] = [];
  for (const section of sections) {
    if (section.kind === 'prose') {
      for (const piece of await chunkText(section.text ?? '', 'txt', options))
        chunks.push({ position: chunks.length, text: piece.text, metadata: section.metadata });
      continue;
    }
    for (const group of groupRows(section.header ?? '', section.rows ?? [], options.size)) {
      chunks.push({
        position: chunks.length,
        text: [section.header, ...group.map((r) => r.line)].join('\n'),
        metadata: { ...section.metadata, firstRow: group[0].number, lastRow: group[group.length - 1].number },
      });
    }
  }
  return chunks;
}

/**
 * Consecutive rows whose lines, under the header, fit `size` characters; a row longer than that is a
 * group of its own (a table row is not cut). A table of only a header makes no group: it holds no data.
 */
export function groupRows<R extends { line: string }>(header: string, rows: R[], size: number): R[][] {
  const groups: R[][] = [];
  let group: R[] = [];
  let length = header.length;
  for (const row of rows) {
    const added = row.line.length + 1;
    if (group.length > 0 && length + added > size) {
      groups.push(group);
      group = [];
      length = header.length;
    }
    group.push(row);
    length += added;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
