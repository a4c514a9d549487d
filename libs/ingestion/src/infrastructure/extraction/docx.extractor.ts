/**
 * Owns reading a Word (.docx) file: mammoth turns its body into HTML (headings, lists and tables kept),
 * which the HTML extractor turns into text as it does any page; the title and author come from the
 * package's core properties, else the title is the first heading.
 */
import mammoth from 'mammoth';
import { UnreadableFileError } from './extraction.errors.js';
import type { ExtractedText } from './extraction.types.js';
import { extractHtml } from './html.extractor.js';
import { coreProperties, openPackage } from './ooxml.package.js';

export async function extractDocx(bytes: Uint8Array): Promise<ExtractedText> {
  const pkg = await openPackage(bytes, '.docx');
  if (pkg.zip.file('word/document.xml') === null)
    throw new UnreadableFileError('The .docx file has no word/document.xml: it is not a Word document');
  const core = await coreProperties(pkg, '.docx');
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreadableFileError(`The .docx file cannot be read: ${reason}`, { cause: error });
  }
  const body = extractHtml(new TextEncoder().encode(html));
  const title = core.title ?? body.title;
  return { text: body.text, ...(title === undefined ? {} : { title }), metadata: core.metadata };
}
