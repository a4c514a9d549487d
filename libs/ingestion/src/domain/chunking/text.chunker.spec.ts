import { describe, expect, it } from 'vitest';
import { chunkText, type TextChunk } from './text.chunker.js';

const WORDS = [
  'retrieval',
  'augmented',
  'generation',
  'vector',
  'index',
  'embedding',
  'chunk',
  'query',
  'rank',
];

/** Deterministic prose: `count` sentences of numbered words, so every word is unique and traceable. */
function prose(count: number, start = 0): string {
  const sentences: string[] = [];
  for (let i = start; i < start + count; i++) {
    sentences.push(
      `Sentence ${i} about ${WORDS[i % WORDS.length]} and ${WORDS[(i * 7) % WORDS.length]} w${i}.`,
    );
  }
  return sentences.join(' ');
}

function expectWellFormed(chunks: TextChunk[], size: number): void {
  expect(chunks.map((c) => c.position)).toEqual(chunks.map((_, i) => i));
  for (const chunk of chunks) {
    expect(chunk.text.length).toBeGreaterThan(0);
    expect(chunk.text.length).toBeLessThanOrEqual(size);
    expect(chunk.text).toBe(chunk.text.trim());
  }
}

describe('chunkText', () => {
  const options = { size: 200, overlap: 40 };

  it('keeps a text shorter than the size as one trimmed chunk', async () => {
    expect(await chunkText('  A short abstract.\n\n', 'text', options)).toEqual([
      { position: 0, text: 'A short abstract.' },
    ]);
  });

  it('keeps a text of exactly the size as one chunk', async () => {
    const text = 'x'.repeat(200);
    expect(await chunkText(text, 'txt', options)).toEqual([{ position: 0, text }]);
  });

  it('returns no chunk for an empty or blank text', async () => {
    expect(await chunkText('', 'text', options)).toEqual([]);
    expect(await chunkText(' \n\n\t ', 'pdf', options)).toEqual([]);
  });

  it('cuts a long text into ordered, trimmed chunks no longer than the size', async () => {
    const text = prose(60);
    const chunks = await chunkText(text, 'text', options);
    expect(chunks.length).toBeGreaterThan(text.length / options.size);
    expectWellFormed(chunks, options.size);
  });

  it('loses no word and keeps them in order', async () => {
    const text = prose(60);
    const chunks = await chunkText(text, 'html', { size: 150, overlap: 0 });
    expect(chunks.map((c) => c.text).join(' ')).toBe(text);
  });

  it('overlaps consecutive chunks', async () => {
    const chunks = await chunkText(prose(60), 'txt', options);
    for (let i = 1; i < chunks.length; i++) {
      const previousWords = chunks[i - 1].text.split(' ');
      const firstWord = chunks[i].text.split(' ')[0];
      expect(previousWords.slice(-10)).toContain(firstWord);
    }
  });

  it('cuts at paragraph breaks before lines and words', async () => {
    const paragraphs = [prose(2, 0), prose(2, 10), prose(2, 20), prose(2, 30), prose(2, 40)];
    const chunks = await chunkText(paragraphs.join('\n\n'), 'pdf', { size: 300, overlap: 0 });
    expectWellFormed(chunks, 300);
    for (const chunk of chunks) {
      expect(paragraphs.some((p) => chunk.text.startsWith(p))).toBe(true);
    }
  });

  it('cuts markdown at its headings', async () => {
    const headings = ['## Install', '## Configure', '## Run', '## Troubleshoot'];
    const sections = headings.map((h, i) => `${h}\n\n${prose(3, i * 10)}`);
    const markdown = `# Guide\n\nIntro line.\n\n${sections.join('\n\n')}`;
    const chunks = await chunkText(markdown, 'md', { size: 220, overlap: 0 });
    expectWellFormed(chunks, 220);
    expect(chunks.map((c) => c.text)).toEqual([
      `# Guide\n\nIntro line.\n\n${sections[0]}`,
      ...sections.slice(1),
    ]);
  });

  it('does not treat markdown specially for other kinds', async () => {
    const markdown = `## A\n${prose(3)}\n## B\n${prose(3, 5)}`;
    const asMarkdown = await chunkText(markdown, 'md', { size: 250, overlap: 0 });
    const asText = await chunkText(markdown, 'text', { size: 250, overlap: 0 });
    expect(asMarkdown[1].text.startsWith('## B')).toBe(true);
    expect(asText.some((c) => c.text.startsWith('## B'))).toBe(false);
  });

  it('hard-cuts a run without any separator', async () => {
    const text = 'a'.repeat(450);
    const chunks = await chunkText(text, 'text', { size: 100, overlap: 0 });
    expect(chunks.map((c) => c.text.length)).toEqual([100, 100, 100, 100, 50]);
  });

  it('is deterministic', async () => {
    const text = prose(80);
    expect(await chunkText(text, 'md', options)).toEqual(await chunkText(text, 'md', options));
  });

  it.each([
    [{ size: 99, overlap: 0 }, /chunk size must be an integer of at least 100/],
    [{ size: 100.5, overlap: 0 }, /chunk size/],
    [{ size: 1000, overlap: -1 }, /chunk overlap must be an integer from 0 to below the chunk size \(1000\)/],
    [{ size: 1000, overlap: 1000 }, /chunk overlap/],
    [{ size: 1000, overlap: 1.5 }, /chunk overlap/],
  ])('rejects invalid options %j', async (invalid, message) => {
    await expect(chunkText('text', 'text', invalid)).rejects.toThrow(message);
  });
});
