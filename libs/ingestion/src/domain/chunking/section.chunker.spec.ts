import { describe, expect, it } from 'vitest';
import { chunkSections, groupRows } from './section.chunker.js';

describe('chunkSections', () => {
  const options = { size: 100, overlap: 10 };

  it('groups rows up to the size with the header at the head of every chunk', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ line: `row ${i + 2} | value ${i}`, number: i + 2 }));
    const chunks = await chunkSections(
      [{ kind: 'table', header: 'name | value', rows, metadata: { sheet: 'S' } }],
      options,
    );
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.text.startsWith('name | value\n')).toBe(true);
      expect(c.text.length).toBeLessThanOrEqual(100);
    }
    expect(chunks.map((c) => c.position)).toEqual(chunks.map((_, i) => i));
    expect(chunks[0].metadata).toEqual({ sheet: 'S', firstRow: 2, lastRow: expect.any(Number) });
    expect(chunks.at(-1)!.metadata.lastRow).toBe(11);
    // Every row once, in order.
    const lines = chunks.flatMap((c) => c.text.split('\n').slice(1));
    expect(lines).toEqual(rows.map((r) => r.line));
  });

  it('keeps a slide apart from the next, each chunk with its slide number', async () => {
    const chunks = await chunkSections(
      [
        { kind: 'prose', text: 'First slide.', metadata: { slide: 1 } },
        { kind: 'prose', text: 'Second slide.', metadata: { slide: 2 } },
      ],
      options,
    );
    expect(chunks).toEqual([
      { position: 0, text: 'First slide.', metadata: { slide: 1 } },
      { position: 1, text: 'Second slide.', metadata: { slide: 2 } },
    ]);
  });

  it('gives a row longer than the size a group of its own, and a bare header none', () => {
    const long = { line: 'x'.repeat(200), number: 3 };
    expect(groupRows('h', [{ line: 'a', number: 2 }, long, { line: 'b', number: 4 }], 50)).toEqual([
      [{ line: 'a', number: 2 }],
      [long],
      [{ line: 'b', number: 4 }],
    ]);
    expect(groupRows('h', [], 50)).toEqual([]);
  });
});
