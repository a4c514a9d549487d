import { describe, expect, it } from 'vitest';
import { UnreadableFileError } from './extraction.errors.js';
import { extractMarkdown, markdownTitle } from './markdown.extractor.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('extractMarkdown', () => {
  it('keeps the markdown and takes the first level-one heading as title', () => {
    const source =
      '\ufeff# User  Guide\r\n\r\nSome *intro*  text.\r\n\r\n\r\n\r\n## Install\r\n\r\n- step  one\r\n    - sub step\r\n';
    expect(extractMarkdown(utf8(source))).toEqual({
      text: '# User Guide\n\nSome *intro* text.\n\n## Install\n\n- step one\n    - sub step',
      title: 'User Guide',
    });
  });

  it('has no title when there is no level-one heading', () => {
    const result = extractMarkdown(utf8('## Only a section\n\nBody.'));
    expect(result).toEqual({ text: '## Only a section\n\nBody.' });
    expect('title' in result).toBe(false);
  });

  it('rejects invalid UTF-8 and binary content', () => {
    expect(() => extractMarkdown(new Uint8Array([0x23, 0x20, 0xc3, 0x28]))).toThrow(UnreadableFileError);
    expect(() => extractMarkdown(utf8('# Title\u0000\u0001'))).toThrow(/binary/);
  });
});

describe('markdownTitle', () => {
  it('takes the first level-one heading even after other content', () => {
    expect(markdownTitle('Intro\n\n## Section\n\n# Real Title\n\n# Second')).toBe('Real Title');
  });

  it('drops a closing sequence of hashes and surrounding spaces', () => {
    expect(markdownTitle('#   Spaced  Title   ##  ')).toBe('Spaced Title');
    expect(markdownTitle('# Learn C#')).toBe('Learn C#');
  });

  it('accepts up to three spaces of indentation', () => {
    expect(markdownTitle('   # Indented')).toBe('Indented');
    expect(markdownTitle('    # Code, not heading')).toBeUndefined();
  });

  it('needs a space after the hash', () => {
    expect(markdownTitle('#hashtag\n\n#\n\n# Title')).toBe('Title');
  });

  it('ignores lines inside code fences', () => {
    const markdown =
      '```bash\n# install deps\nnpm ci\n```\n\n~~~~\n# also code\n```\n# still code\n~~~~\n\n# Title';
    expect(markdownTitle(markdown)).toBe('Title');
  });

  it('ignores front matter', () => {
    expect(markdownTitle('---\n# a yaml comment\ntitle: x\n---\n\n# Title')).toBe('Title');
    expect(markdownTitle('---\n\nNot front matter, a rule above.\n\n# Title')).toBe('Title');
  });
});
