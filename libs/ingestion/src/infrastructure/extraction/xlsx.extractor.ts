/**
 * Owns reading an Excel (.xlsx) workbook with exceljs: each worksheet is a table whose first non-empty row
 * is its header, kept at the head of every chunk of its rows; the sheet's name rides on each chunk. The
 * workbook's title, author, created date and sheet names are its metadata.
 */
import ExcelJS from 'exceljs';
import type { Metadata } from '#contracts';
import { normalizeLabel } from '../../domain/normalization/text.normalizer.js';
import { UnreadableFileError } from './extraction.errors.js';
import type { ExtractedText, TableSection } from './extraction.types.js';
import { openPackage } from './ooxml.package.js';
import { rowLine } from './table.rows.js';

export async function extractXlsx(bytes: Uint8Array): Promise<ExtractedText> {
  // Opened once by JSZip first: a clear reason for a file that is no zip, and the unpacked-size bound.
  const pkg = await openPackage(bytes, '.xlsx');
  if (pkg.zip.file('xl/workbook.xml') === null)
    throw new UnreadableFileError('The .xlsx file has no xl/workbook.xml: it is not an Excel workbook');
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreadableFileError(`The .xlsx file cannot be read: ${reason}`, { cause: error });
  }
  const sections: TableSection[] = [];
  const sheets: string[] = [];
  workbook.eachSheet((sheet) => {
    sheets.push(sheet.name);
    let header: string | undefined;
    const rows: TableSection['rows'] = [];
    sheet.eachRow({ includeEmpty: false }, (row, number) => {
      const cells: (string | undefined)[] = [];
      row.eachCell({ includeEmpty: true }, (cell, column) => {
        cells[column - 1] = cellText(cell);
      });
      const line = rowLine(Array.from(cells));
      if (line === undefined) return;
      if (header === undefined) header = line;
      else rows.push({ line, number });
    });
    if (header !== undefined) sections.push({ kind: 'table', header, rows, metadata: { sheet: sheet.name } });
  });
  const metadata: Metadata = { sheets };
  const author = normalizeLabel(workbook.creator);
  if (author !== undefined) metadata.author = author;
  const created = workbook.created;
  if (created instanceof Date && !Number.isNaN(created.getTime())) metadata.created = created.toISOString();
  const title = normalizeLabel(workbook.title);
  return {
    text: sections.map((s) => [s.header, ...s.rows.map((r) => r.line)].join('\n')).join('\n\n'),
    ...(title === undefined ? {} : { title }),
    metadata,
    sections,
  };
}

/** What a cell shows: a formula's result, a date as ISO 8601, rich text as its plain text. */
function cellText(cell: ExcelJS.Cell): string | undefined {
  const value = cell.value;
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString().replace('T00:00:00.000Z', '');
  if (typeof value === 'object' && 'result' in value) {
    const result = value.result;
    if (result instanceof Date) return result.toISOString();
    return result === undefined || result === null || typeof result === 'object' ? undefined : String(result);
  }
  try {
    return cell.text;
  } catch {
    return undefined;
  }
}
