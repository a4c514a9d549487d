/**
 * Owns the decision of which extractor reads an uploaded file, from its name and declared media type.
 * The extension wins: clients derive the media type from it anyway, and often send text/plain or
 * application/octet-stream for markdown. The media type decides only when the name has no known extension.
 */
import { UnsupportedFileError } from './extraction.errors.js';
import type { FileKind } from './extraction.types.js';

const KIND_BY_EXTENSION: ReadonlyMap<string, FileKind> = new Map([
  ['txt', 'txt'],
  ['text', 'txt'],
  ['md', 'md'],
  ['markdown', 'md'],
  ['html', 'html'],
  ['htm', 'html'],
  ['xhtml', 'html'],
  ['pdf', 'pdf'],
  ['docx', 'docx'],
  ['pptx', 'pptx'],
  ['xlsx', 'xlsx'],
  ['csv', 'csv'],
]);

const KIND_BY_MEDIA_TYPE: ReadonlyMap<string, FileKind> = new Map([
  ['text/plain', 'txt'],
  ['text/markdown', 'md'],
  ['text/x-markdown', 'md'],
  ['text/html', 'html'],
  ['application/xhtml+xml', 'html'],
  ['application/pdf', 'pdf'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
  ['application/vnd.openxmlformats-officedocument.presentationml.presentation', 'pptx'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
  ['text/csv', 'csv'],
  ['application/csv', 'csv'],
]);

const SUPPORTED =
  'supported kinds are txt (.txt), md (.md, .markdown), html (.html, .htm), pdf (.pdf), docx (.docx), ' +
  'pptx (.pptx), xlsx (.xlsx) and csv (.csv)';

export function detectFileKind(filename: string, mimeType?: string): FileKind {
  const byExtension = KIND_BY_EXTENSION.get(extensionOf(filename));
  if (byExtension !== undefined) return byExtension;
  const byMediaType = mimeType === undefined ? undefined : KIND_BY_MEDIA_TYPE.get(essenceOf(mimeType));
  if (byMediaType !== undefined) return byMediaType;
  const declared = mimeType?.trim() ? ` (${mimeType.trim()})` : '';
  throw new UnsupportedFileError(`Unsupported file "${filename}"${declared}: ${SUPPORTED}`);
}

function extensionOf(filename: string): string {
  const basename = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
  const dot = basename.lastIndexOf('.');
  // A leading dot starts a hidden file's name (".md" is a file named md), not an extension.
  return dot > 0
    ? basename
        .slice(dot + 1)
        .trim()
        .toLowerCase()
    : '';
}

/** `Text/HTML; charset=UTF-8` -> `text/html`. */
function essenceOf(mimeType: string): string {
  const semicolon = mimeType.indexOf(';');
  return (semicolon === -1 ? mimeType : mimeType.slice(0, semicolon)).trim().toLowerCase();
}
