import { describe, expect, it } from 'vitest';
import { normalizeLabel, normalizeText } from './text.normalizer.js';

describe('normalizeText', () => {
  it('collapses runs of spaces, tabs and other horizontal whitespace to one space', () => {
    expect(normalizeText('a  b\t\tc \u00a0 d\u2003e')).toBe('a b c d e');
  });

  it('trims every line and the whole text', () => {
    expect(normalizeText('  \n  first line  \n\tsecond\t\n  ')).toBe('first line\nsecond');
  });

  it('keeps at most two consecutive line breaks', () => {
    expect(normalizeText('a\n\n\n\nb\n \n\t\n \nc\n\nd')).toBe('a\n\nb\n\nc\n\nd');
  });

  it('unifies CRLF, CR and Unicode line separators to LF', () => {
    expect(normalizeText('a\r\nb\rc\u2028d\u0085e')).toBe('a\nb\nc\nd\ne');
  });

  it('removes control characters but keeps the text around them', () => {
    expect(normalizeText('a\u0000b\u0007c\u001bd\u009be')).toBe('abcde');
  });

  it('composes to NFC', () => {
    const decomposed = 'Cafe\u0301';
    expect(normalizeText(decomposed)).toBe('Caf\u00e9');
    expect(normalizeText(decomposed)).toHaveLength(4);
  });

  it('returns an empty string for whitespace only', () => {
    expect(normalizeText(' \n\t\r\n ')).toBe('');
  });

  describe('preserving indentation', () => {
    it('keeps leading indentation but collapses inner runs and drops trailing whitespace', () => {
      const markdown = '- item  one\n    - nested\t\titem  \n\n\n\n    code   block';
      expect(normalizeText(markdown, { preserveIndentation: true })).toBe(
        '- item one\n    - nested item\n\n    code block',
      );
    });

    it('empties whitespace-only lines and drops leading blank lines', () => {
      expect(normalizeText('\n\n  \n# Title\n   \n\nbody  \n\n', { preserveIndentation: true })).toBe(
        '# Title\n\nbody',
      );
    });
  });
});

describe('normalizeLabel', () => {
  it('puts a label on one normalized line', () => {
    expect(normalizeLabel('  A \n\n long\ttitle ')).toBe('A long title');
  });

  it('returns undefined for nothing or blank', () => {
    expect(normalizeLabel(undefined)).toBeUndefined();
    expect(normalizeLabel(null)).toBeUndefined();
    expect(normalizeLabel(' \n ')).toBeUndefined();
  });
});
