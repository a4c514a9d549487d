/**
 * Small Office files made by the tests themselves, with the libraries that write them (docx, pptxgenjs,
 * exceljs), so the extractors are tested on files as real tools produce them and no binary is checked in.
 */
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow } from 'docx';
import ExcelJS from 'exceljs';
import PptxGenJSModule from 'pptxgenjs';

// pptxgenjs is CommonJS typed as an ES default export: Node hands over the class itself, a bundler may
// hand over a namespace holding it.
const PptxGenJS = ((PptxGenJSModule as unknown as { default?: unknown }).default ??
  PptxGenJSModule) as unknown as typeof PptxGenJSModule.default;

export interface OfficeProperties {
  title?: string;
  author?: string;
}

/** A .docx with a heading, paragraphs and a small table. */
export async function makeDocx(
  properties: OfficeProperties,
  paragraphs: string[],
  table?: string[][],
): Promise<Buffer> {
  const children: (Paragraph | Table)[] = [
    new Paragraph({ text: properties.title ?? 'Untitled', heading: HeadingLevel.HEADING_1 }),
    ...paragraphs.map((text) => new Paragraph({ text })),
  ];
  if (table)
    children.push(
      new Table({
        rows: table.map(
          (row) =>
            new TableRow({ children: row.map((c) => new TableCell({ children: [new Paragraph(c)] })) }),
        ),
      }),
    );
  const doc = new Document({
    ...(properties.title ? { title: properties.title } : {}),
    ...(properties.author ? { creator: properties.author } : {}),
    sections: [{ children }],
  });
  return Packer.toBuffer(doc);
}

/** A .pptx with one slide per entry, each its lines as text boxes. */
export async function makePptx(properties: OfficeProperties, slides: string[][]): Promise<Buffer> {
  const pptx = new PptxGenJS();
  if (properties.title) pptx.title = properties.title;
  if (properties.author) pptx.author = properties.author;
  for (const lines of slides) {
    const slide = pptx.addSlide();
    lines.forEach((line, i) => slide.addText(line, { x: 0.5, y: 0.5 + i, w: 9, h: 0.8 }));
  }
  return (await pptx.write({ outputType: 'nodebuffer' })) as Buffer;
}

/** An .xlsx with one worksheet per entry: its name and rows (the first row the header). */
export async function makeXlsx(
  properties: OfficeProperties & { created?: Date },
  sheets: { name: string; rows: (string | number | Date)[][] }[],
): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  if (properties.title) workbook.title = properties.title;
  if (properties.author) workbook.creator = properties.author;
  if (properties.created) workbook.created = properties.created;
  for (const sheet of sheets) {
    const ws = workbook.addWorksheet(sheet.name);
    for (const row of sheet.rows) ws.addRow(row);
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** CSV text by RFC 4180: fields with the delimiter, quotes or line breaks are quoted. */
export function makeCsv(rows: string[][], delimiter = ','): string {
  const field = (v: string) =>
    /["\r\n]/.test(v) || v.includes(delimiter) ? `"${v.replaceAll('"', '""')}"` : v;
  return rows.map((r) => r.map(field).join(delimiter)).join('\r\n') + '\r\n';
}
