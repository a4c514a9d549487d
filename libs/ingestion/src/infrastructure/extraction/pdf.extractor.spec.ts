import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnreadableFileError } from './extraction.errors.js';
import { extractPdf } from './pdf.extractor.js';

const encoder = new TextEncoder();
const latin1 = new TextDecoder('windows-1252');

/** A PDF string literal: parentheses and backslashes escaped. */
const literal = (text: string): string => `(${text.replace(/[\\()]/g, '\\$&')})`;

interface PdfSpec {
  /** One content stream per page; each string is a line of Helvetica text. */
  pages: string[][];
  /** A PDF string (literal or hex) for the Info dictionary's Title. */
  title?: string;
  /** Extra objects appended after the standard ones, numbered from 4 + 2 * pages. */
  extraObjects?: string[];
  /** Overrides the font dictionary (object 3). */
  font?: string;
  /** Raw content streams, replacing the generated text lines. */
  rawContents?: string[];
  /** Extra trailer entries. */
  trailer?: string;
}

/**
 * Builds a valid PDF 1.4: catalog, page tree, shared font, then a page and a content stream per page, an
 * optional Info dictionary, and an xref table whose offsets are computed from the bytes written.
 */
function buildPdf(spec: PdfSpec): Uint8Array {
  const pageCount = spec.pages.length;
  const pageIds = spec.pages.map((_, i) => 4 + 2 * i);
  const contents =
    spec.rawContents ??
    spec.pages.map((lines) =>
      lines.length === 0
        ? ''
        : `BT /F1 12 Tf 14 TL 72 720 Td ${lines.map((l) => `${literal(l)} '`).join(' ')} ET`,
    );
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageCount} >>`,
    spec.font ?? '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  contents.forEach((content, i) => {
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageIds[i] + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`,
      `<< /Length ${latin1Bytes(content).length} >>\nstream\n${content}\nendstream`,
    );
  });
  objects.push(...(spec.extraObjects ?? []));
  let infoRef = '';
  if (spec.title !== undefined) {
    objects.push(`<< /Title ${spec.title} /Producer (ragnest tests) >>`);
    infoRef = ` /Info ${objects.length} 0 R`;
  }
  const chunks: Uint8Array[] = [latin1Bytes('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')];
  let length = chunks[0].length;
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(length);
    const bytes = latin1Bytes(`${i + 1} 0 obj\n${object}\nendobj\n`);
    chunks.push(bytes);
    length += bytes.length;
  });
  const xrefOffset = length;
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`];
  for (const offset of offsets) xref.push(`${String(offset).padStart(10, '0')} 00000 n \n`);
  xref.push(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${infoRef}${spec.trailer ?? ''} >>\n`);
  xref.push(`startxref\n${xrefOffset}\n%%EOF\n`);
  chunks.push(latin1Bytes(xref.join('')));
  return concat(chunks);
}

/** Every character is one byte (the fixtures only use code points below 256). */
function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const helloPdf = (): Uint8Array =>
  buildPdf({
    pages: [['Hello PDF world', 'Second    line (with parentheses)']],
    title: literal('A Test Document'),
  });

describe('the PDF fixture builder', () => {
  it('writes an xref table whose offsets point at their objects', () => {
    const bytes = helloPdf();
    const text = latin1.decode(bytes);
    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
    expect(text.slice(startxref, startxref + 4)).toBe('xref');
    const entries = [...text.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(entries).toHaveLength(6);
    entries.forEach((offset, i) => expect(text.slice(offset)).toMatch(new RegExp(`^${i + 1} 0 obj\\n`)));
  });
});

describe('extractPdf', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('extracts the text of a page and the title of the document', async () => {
    expect(await extractPdf(helloPdf())).toEqual({
      text: 'Hello PDF world\nSecond line (with parentheses)',
      title: 'A Test Document',
    });
  });

  it('joins pages with a blank line', async () => {
    const bytes = buildPdf({ pages: [['Page one text'], ['Page two text'], ['Page three text']] });
    expect(await extractPdf(bytes)).toEqual({ text: 'Page one text\n\nPage two text\n\nPage three text' });
  });

  it('decodes titles in PDFDocEncoding and in UTF-16', async () => {
    const docEncoded = await extractPdf(buildPdf({ pages: [['x']], title: '(Caf\\351 cr\\350me)' }));
    expect(docEncoded.title).toBe('Café crème');
    const utf16 = await extractPdf(buildPdf({ pages: [['x']], title: '<FEFF65E5672C8A9E0020004400750063>' }));
    expect(utf16.title).toBe('日本語 Duc');
  });

  it('has no title when the document does not give one, or gives a blank one', async () => {
    expect(await extractPdf(buildPdf({ pages: [['No title here']] }))).toEqual({ text: 'No title here' });
    expect(await extractPdf(buildPdf({ pages: [['Blank title']], title: '(   )' }))).toEqual({
      text: 'Blank title',
    });
  });

  it('decodes the font encoding of the text', async () => {
    const { text } = await extractPdf(buildPdf({ pages: [['Na\xefve caf\xe9 \x80 5']] }));
    expect(text).toBe('Naïve café € 5');
  });

  it('reads text in a CJK font, whose CMap comes from disk', async () => {
    const bytes = buildPdf({
      pages: [[]],
      rawContents: ['BT /F1 24 Tf 72 720 Td <65E5672C8A9E> Tj ET'],
      font: '<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiMin-W3 /Encoding /UniJIS-UCS2-H /DescendantFonts [6 0 R] >>',
      extraObjects: [
        '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiMin-W3 /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> /FontDescriptor 7 0 R >>',
        '<< /Type /FontDescriptor /FontName /HeiseiMin-W3 /Flags 6 /FontBBox [0 -120 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>',
      ],
    });
    expect((await extractPdf(bytes)).text).toBe('日本語');
  });

  it('refuses a PDF without a text layer, saying why', async () => {
    const scan = buildPdf({ pages: [[], []], title: literal('Scanned') });
    const error = await rejection(extractPdf(scan));
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect(error.message).toBe(
      'The PDF has no extractable text: it may be a scan (images of pages), and OCR is not supported',
    );
  });

  it('refuses a PDF whose text is only whitespace', async () => {
    await expect(extractPdf(buildPdf({ pages: [['   ', '']] }))).rejects.toThrow(/no extractable text/);
  });

  it('refuses a corrupt PDF with the reason of the parser', async () => {
    const error = await rejection(extractPdf(encoder.encode('%PDF-1.4\nthis is not a pdf at all\n%%EOF\n')));
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect(error.message).toBe('The PDF cannot be read: Invalid PDF structure.');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('refuses bytes that are not a PDF at all', async () => {
    await expect(extractPdf(encoder.encode('Just some text, no PDF header.'))).rejects.toThrow(
      UnreadableFileError,
    );
    await expect(extractPdf(new Uint8Array())).rejects.toThrow(/^The PDF cannot be read: /);
  });

  it('refuses a truncated PDF', async () => {
    const bytes = helloPdf();
    await expect(extractPdf(bytes.subarray(0, 120))).rejects.toThrow(UnreadableFileError);
  });

  it('refuses a PDF that needs a password', async () => {
    const bytes = buildPdf({
      pages: [['secret']],
      extraObjects: [
        `<< /Filter /Standard /V 1 /R 2 /O <${'ab'.repeat(32)}> /U <${'cd'.repeat(32)}> /P -4 >>`,
      ],
      trailer: ` /Encrypt 6 0 R /ID [<${'01'.repeat(16)}> <${'01'.repeat(16)}>]`,
    });
    await expect(extractPdf(bytes)).rejects.toThrow(new UnreadableFileError('The PDF is password-protected'));
  });

  it('recovers a PDF with a broken xref table, printing nothing', async () => {
    const text = latin1.decode(helloPdf()).replace(/^\d{10}(?= 00000 n $)/gm, '0000000001');
    const log = vi.spyOn(console, 'log');
    const warn = vi.spyOn(console, 'warn');
    expect((await extractPdf(latin1Bytes(text))).text).toBe(
      'Hello PDF world\nSecond line (with parentheses)',
    );
    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('works offline and silently: no fetch, no console output', async () => {
    const fetch = vi.spyOn(globalThis, 'fetch');
    const consoleCalls = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method),
    );
    const stdout = vi.spyOn(process.stdout, 'write');
    await extractPdf(helloPdf());
    await rejection(extractPdf(encoder.encode('%PDF-1.4\ngarbage')));
    await rejection(extractPdf(buildPdf({ pages: [[]] })));
    expect(fetch).not.toHaveBeenCalled();
    for (const call of consoleCalls) expect(call).not.toHaveBeenCalled();
    expect(stdout).not.toHaveBeenCalled();
  });

  it('leaves the caller bytes untouched', async () => {
    const bytes = helloPdf();
    const copy = bytes.slice();
    await extractPdf(bytes);
    expect(bytes.byteLength).toBe(copy.byteLength);
    expect(bytes).toEqual(copy);
  });

  it('extracts concurrent documents independently', async () => {
    const documents = ['First', 'Second', 'Third', 'Fourth'].map((word) =>
      buildPdf({ pages: [[`${word} document`]] }),
    );
    const results = await Promise.all(documents.map((bytes) => extractPdf(bytes)));
    expect(results.map((r) => r.text)).toEqual([
      'First document',
      'Second document',
      'Third document',
      'Fourth document',
    ]);
  });
});
