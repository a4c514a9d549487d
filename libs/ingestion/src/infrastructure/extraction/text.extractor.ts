/** Owns the one entry point that turns a file's bytes into normalized text, whatever its kind. */
import { normalizeText } from '../../domain/normalization/text.normalizer.js';
import type { ExtractedText, FileKind } from './extraction.types.js';
import { extractCsv } from './csv.extractor.js';
import { extractDocx } from './docx.extractor.js';
import { extractHtml } from './html.extractor.js';
import { extractMarkdown } from './markdown.extractor.js';
import { extractPdf } from './pdf.extractor.js';
import { extractPptx } from './pptx.extractor.js';
import { decodeText } from './text.decoder.js';
import { extractXlsx } from './xlsx.extractor.js';

/**
 * Rejects with UnreadableFileError when the bytes are not a readable file of that kind. An empty result
 * is not an error here (a PDF without text excepted): the caller decides what an empty document means.
 */
export async function extractText(kind: FileKind, bytes: Uint8Array): Promise<ExtractedText> {
  switch (kind) {
    case 'txt':
      return { text: normalizeText(decodeText(bytes)) };
    case 'md':
      return extractMarkdown(bytes);
    case 'html':
      return extractHtml(bytes);
    case 'pdf':
      return extractPdf(bytes);
    case 'docx':
      return extractDocx(bytes);
    case 'pptx':
      return extractPptx(bytes);
    case 'xlsx':
      return extractXlsx(bytes);
    case 'csv':
      return extractCsv(bytes);
  }
}
