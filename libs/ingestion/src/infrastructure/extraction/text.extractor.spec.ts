import { describe, expect, it } from 'vitest';
import { UnreadableFileError } from './extraction.errors.js';
import { extractText } from './text.extractor.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A one-page PDF with one line of Helvetica text; offsets are computed so the xref table is exact. */
function minimalPdf(line: string): Uint8Array {
  const content = `BT /F1 12 Tf 72 720 Td (${line}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets = objects.map((object, i) => {
    const offset = pdf.length;
    pdf += `${i + 1} 0 obj\n${object}\nendobj\n`;
    return offset;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return utf8(pdf);
}

describe('extractText', () => {
  it('reads a text file: decoded, BOM stripped, normalized, without title', async () => {
    const bytes = new Uint8Array([
      0xef,
      0xbb,
      0xbf,
      ...utf8('  Plain\t\ttext  \r\n\r\n\r\n\r\nCafe\u0301 # not a title\n'),
    ]);
    expect(await extractText('txt', bytes)).toEqual({ text: 'Plain text\n\nCafé # not a title' });
  });

  it('refuses a text file that is not UTF-8 or is binary', async () => {
    await expect(extractText('txt', new Uint8Array([0x61, 0xe9, 0x62]))).rejects.toThrow(UnreadableFileError);
    await expect(
      extractText('txt', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00])),
    ).rejects.toThrow(/binary file/);
  });

  it('reads an empty text file as empty text', async () => {
    expect(await extractText('txt', new Uint8Array())).toEqual({ text: '' });
  });

  it('reads markdown as markdown, with its title', async () => {
    expect(await extractText('md', utf8('# Notes\n\n* one\n  * two'))).toEqual({
      text: '# Notes\n\n* one\n  * two',
      title: 'Notes',
    });
  });

  it('reads HTML as prose, with its title', async () => {
    expect(
      await extractText('html', utf8('<title>Page</title><h1>Head</h1><p>Body <a href="/x">link</a>.</p>')),
    ).toEqual({
      text: 'Head\n\nBody link.',
      title: 'Page',
    });
  });

  it('reads a PDF text layer', async () => {
    expect(await extractText('pdf', minimalPdf('Hello from a PDF'))).toEqual({ text: 'Hello from a PDF' });
  });

  it('refuses a corrupt PDF', async () => {
    await expect(extractText('pdf', utf8('%PDF-1.4\n1 0 obj\n<< /Type'))).rejects.toThrow(
      UnreadableFileError,
    );
  });
});
