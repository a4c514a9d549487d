/**
 * Owns reading a CSV file with csv-parse: the first non-empty record is the header, kept at the head of
 * every chunk of rows. The delimiter is the one of comma, semicolon or tab that the header line holds
 * most of (spreadsheets in many locales save with semicolons).
 */
import { parse } from 'csv-parse/sync';
import { UnreadableFileError } from './extraction.errors.js';
import type { ExtractedText, TableSection } from './extraction.types.js';
import { rowLine } from './table.rows.js';
import { decodeText } from './text.decoder.js';

const DELIMITERS = [',', ';', '\t'] as const;

export function extractCsv(bytes: Uint8Array): ExtractedText {
  const text = decodeText(bytes);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: delimiterOf(text),
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreadableFileError(`The CSV file cannot be read: ${reason}`, { cause: error });
  }
  let header: string | undefined;
  const rows: TableSection['rows'] = [];
  for (const { record, info } of records) {
    const line = rowLine(record);
    if (line === undefined) continue;
    if (header === undefined) header = line;
    else rows.push({ line, number: info.lines });
  }
  if (header === undefined) return { text: '' };
  return {
    text: [header, ...rows.map((r) => r.line)].join('\n'),
    metadata: { rows: rows.length },
    sections: [{ kind: 'table', header, rows, metadata: {} }],
  };
}

function delimiterOf(text: string): string {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  let best: string = DELIMITERS[0];
  let most = 0;
  for (const d of DELIMITERS) {
    const n = firstLine.split(d).length - 1;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}
