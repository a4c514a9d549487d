/**
 * Owns reading a PDF file's text layer with pdf-parse (pdf.js), offline and silently: the document comes
 * from memory, CMaps from pdfjs-dist's own folder, and pdf.js logs nothing below an error. A PDF whose pages
 * carry no text (a scan) is refused: reading images would need OCR, which is not supported.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { normalizeLabel, normalizeText } from '../../domain/normalization/text.normalizer.js';
import { UnreadableFileError } from './extraction.errors.js';
import type { ExtractedText } from './extraction.types.js';

type PdfParseModule = typeof import('pdf-parse');

// pdf.js takes ~140 ms to load: only a process that meets a PDF pays for it.
let pdfParseModule: Promise<PdfParseModule> | undefined;
const loadPdfParse = (): Promise<PdfParseModule> => (pdfParseModule ??= import('pdf-parse'));

// Without the predefined CMaps, text in CJK fonts comes out empty. pdfjs-dist is pdf-parse's dependency,
// so it is resolved from there; in Node, pdf.js reads these files from disk.
const requireFromPdfParse = createRequire(createRequire(import.meta.url).resolve('pdf-parse'));
const CMAP_DIRECTORY = join(dirname(requireFromPdfParse.resolve('pdfjs-dist/package.json')), 'cmaps') + '/';

export async function extractPdf(bytes: Uint8Array): Promise<ExtractedText> {
  const { PDFParse, PasswordException, VerbosityLevel } = await loadPdfParse();
  const parser = new PDFParse({
    // pdf.js may take ownership of the array it is given; the caller's bytes must stay intact.
    data: new Uint8Array(bytes),
    verbosity: VerbosityLevel.ERRORS,
    cMapUrl: CMAP_DIRECTORY,
    cMapPacked: true,
    useSystemFonts: false,
    // Font programs in a PDF are untrusted input: never compile them into functions.
    isEvalSupported: false,
  });
  let pages: string[];
  let title: string | undefined;
  try {
    const content = await parser.getText({ pageJoiner: '' });
    pages = content.pages.map((page) => page.text);
    const { info } = await parser.getInfo();
    title = normalizeLabel(typeof info?.Title === 'string' ? info.Title : undefined);
  } catch (error) {
    if (error instanceof PasswordException) {
      throw new UnreadableFileError('The PDF is password-protected', { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreadableFileError(`The PDF cannot be read: ${reason}`, { cause: error });
  } finally {
    await parser.destroy();
  }
  const text = normalizeText(pages.join('\n\n'));
  if (text === '') {
    throw new UnreadableFileError(
      'The PDF has no extractable text: it may be a scan (images of pages), and OCR is not supported',
    );
  }
  return title === undefined ? { text } : { text, title };
}
