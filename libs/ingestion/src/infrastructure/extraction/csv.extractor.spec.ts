import { describe, expect, it } from 'vitest';
import { makeCsv } from '#testing';
import { extractCsv } from './csv.extractor.js';
import { UnreadableFileError } from './extraction.errors.js';

const encode = (text: string) => new TextEncoder().encode(text);

describe('extractCsv', () => {
  it('reads the header and rows, quoted fields included, with their line numbers', () => {
    const csv = makeCsv([
      ['city', 'note'],
      ['Porto', 'rain, then "sun"'],
      ['', ''],
      ['Bergen', 'two\nlines'],
    ]);
    const out = extractCsv(encode(csv));
    expect(out.metadata).toEqual({ rows: 2 });
    expect(out.sections).toEqual([
      {
        kind: 'table',
        header: 'city | note',
        rows: [
          { line: 'Porto | rain, then "sun"', number: 2 },
          { line: 'Bergen | two lines', number: 5 },
        ],
        metadata: {},
      },
    ]);
  });

  it('finds a semicolon or tab delimiter from the header line', () => {
    const semi = extractCsv(encode('a;b\n1,5;2\n'));
    expect(semi.sections![0]).toMatchObject({ header: 'a | b', rows: [{ line: '1,5 | 2' }] });
    const tab = extractCsv(encode('a\tb\n1\t2\n'));
    expect(tab.sections![0]).toMatchObject({ header: 'a | b', rows: [{ line: '1 | 2' }] });
  });

  it('refuses an unclosed quote and binary bytes with a reason', () => {
    expect(() => extractCsv(encode('a,b\n"open,2\n'))).toThrow(UnreadableFileError);
    expect(() => extractCsv(encode('a,b\n"open,2\n'))).toThrow(/The CSV file cannot be read: .*[Qq]uote/);
    expect(() => extractCsv(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0xff]))).toThrow(
      UnreadableFileError,
    );
  });

  it('yields no text for a file of blank lines', () => {
    expect(extractCsv(encode('\n\n'))).toEqual({ text: '' });
  });
});
