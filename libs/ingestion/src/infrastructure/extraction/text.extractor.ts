/** Owns the one entry point that turns a file's bytes into normalized text, whatever its kind. */
import { normalizeText } from '../../domain/normalization/text.normalizer.js';
import type { ExtractedText, FileKind } from './extraction.types.js';
import { extractCsv } from './csv.extractor.js';
import { extractMarkdown } from './markdown.extractor.js';
import { extractPdf } from './pdf.extractor.js';
import { decodeText } from './text.decoder.js';

/**
 * Rejects with UnreadableFileError when the bytes are not a readable file of that kind. An empty result
 * is not an error here (a PDF without text excepted): the caller decides what an empty document means.
 * The HTML and Office readers are imported at their kind's first file (PDF's library likewise, inside
 * its extractor): their libraries are some 9 MiB of heap that a process given only text never needs.
 */
export async function extractText(kind: FileKind, bytes: Uint8Array): Promise<ExtractedText> {
  switch (kind) {
    case 'txt':
      return { text: normalizeText(decodeText(bytes)) };
    case 'md':
      return extractMarkdown(bytes);
    case 'html':
      return (await import('./html.extractor.js')).extractHtml(bytes);
    case 'pdf':
      return extractPdf(bytes);
    case 'docx':
      return (await import('./docx.extractor.js')).extractDocx(bytes);
    case 'pptx':
      return (await import('./pptx.extractor.js')).extractPptx(bytes);
    case 'xlsx':
      return (await import('./xlsx.extractor.js')).extractXlsx(bytes);
    case 'csv':
      return extractCsv(bytes);
  }
}
