import { describe, expect, it } from 'vitest';
import { UnsupportedFileError } from './extraction.errors.js';
import { detectFileKind } from './file-kind.detector.js';

describe('detectFileKind', () => {
  it.each([
    ['notes.txt', 'txt'],
    ['notes.text', 'txt'],
    ['README.md', 'md'],
    ['guide.markdown', 'md'],
    ['page.html', 'html'],
    ['page.htm', 'html'],
    ['page.xhtml', 'html'],
    ['paper.pdf', 'pdf'],
  ])('recognises %s by its extension', (filename, kind) => {
    expect(detectFileKind(filename)).toBe(kind);
  });

  it('ignores the case of the extension and the folders of the name', () => {
    expect(detectFileKind('Reports/2024/PAPER.PDF')).toBe('pdf');
    expect(detectFileKind('C:\\docs\\Notes.MD')).toBe('md');
    expect(detectFileKind('archive.v2/readme.md')).toBe('md');
  });

  it('prefers the extension to the declared media type', () => {
    expect(detectFileKind('README.md', 'text/plain')).toBe('md');
    expect(detectFileKind('paper.pdf', 'application/octet-stream')).toBe('pdf');
  });

  it.each([
    ['text/plain', 'txt'],
    ['text/markdown', 'md'],
    ['text/x-markdown', 'md'],
    ['text/html', 'html'],
    ['application/xhtml+xml', 'html'],
    ['application/pdf', 'pdf'],
    ['Text/HTML; charset=UTF-8', 'html'],
    [' application/pdf ', 'pdf'],
  ])('falls back to the media type %s when the name has no known extension', (mimeType, kind) => {
    expect(detectFileKind('upload', mimeType)).toBe(kind);
    expect(detectFileKind('upload.bin', mimeType)).toBe(kind);
  });

  it('knows the Office and CSV kinds by extension and by media type', () => {
    expect(detectFileKind('Report.DOCX')).toBe('docx');
    expect(detectFileKind('deck.pptx')).toBe('pptx');
    expect(detectFileKind('book.xlsx')).toBe('xlsx');
    expect(detectFileKind('rows.csv')).toBe('csv');
    expect(
      detectFileKind('upload', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'),
    ).toBe('xlsx');
    expect(detectFileKind('upload', 'text/csv; charset=utf-8')).toBe('csv');
  });

  it('reads a leading dot as part of the name, not as an extension', () => {
    expect(() => detectFileKind('.md')).toThrow(UnsupportedFileError);
    expect(detectFileKind('.md', 'text/markdown')).toBe('md');
  });

  it('rejects an unknown file, naming it and the supported kinds', () => {
    expect(() => detectFileKind('report.doc')).toThrow(UnsupportedFileError);
    expect(() => detectFileKind('report.doc')).toThrow(
      'Unsupported file "report.doc": supported kinds are txt (.txt), md (.md, .markdown), html (.html, .htm), ' +
        'pdf (.pdf), docx (.docx), pptx (.pptx), xlsx (.xlsx) and csv (.csv)',
    );
  });

  it('names the declared media type when it is not supported either', () => {
    expect(() => detectFileKind('image', 'image/png')).toThrow(
      /^Unsupported file "image" \(image\/png\): supported kinds/,
    );
    expect(() => detectFileKind('blob', 'application/octet-stream')).toThrow(UnsupportedFileError);
  });

  it('rejects a name without extension and no media type', () => {
    expect(() => detectFileKind('Makefile')).toThrow(/Unsupported file "Makefile": /);
    expect(() => detectFileKind('trailing.')).toThrow(UnsupportedFileError);
  });
});
