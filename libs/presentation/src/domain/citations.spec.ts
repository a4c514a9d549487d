import type { SearchHit } from '#contracts';
import { describe, expect, it } from 'vitest';
import { presentAnswer } from './citations.js';

const hit = (n: number): SearchHit => ({
  documentId: `doc-${n}`,
  chunkId: `doc-${n}#0`,
  score: 1 / n,
  title: n % 2 === 0 ? null : `Title ${n}`,
  text: `Text of source ${n}.`,
  metadata: { n },
});
const sources = [1, 2, 3, 4, 5].map(hit);
const indexes = (answer: string) => presentAnswer(answer, sources).citations.map((c) => c.documentId);

describe('presentAnswer', () => {
  it('lists the cited sources with their fields, numbered from 1', () => {
    expect(presentAnswer('Paris is the capital [1].', sources)).toEqual({
      answer: 'Paris is the capital [1].',
      citations: [
        {
          index: 1,
          documentId: 'doc-1',
          chunkId: 'doc-1#0',
          title: 'Title 1',
          text: 'Text of source 1.',
          score: 1,
        },
      ],
    });
  });

  it('renumbers densely in order of first appearance', () => {
    const result = presentAnswer('A [3]. B [5]. C [3]. D [1].', sources);
    expect(result.answer).toBe('A [1]. B [2]. C [1]. D [3].');
    expect(result.citations.map((c) => [c.index, c.documentId])).toEqual([
      [1, 'doc-3'],
      [2, 'doc-5'],
      [3, 'doc-1'],
    ]);
  });

  it('splits lists into back-to-back markers', () => {
    expect(presentAnswer('A [2, 3]. B [4;5].', sources).answer).toBe('A [1][2]. B [3][4].');
    expect(indexes('A [2, 3]. B [4;5].')).toEqual(['doc-2', 'doc-3', 'doc-4', 'doc-5']);
  });

  it('keeps adjacent markers, merging repeats and spaced runs', () => {
    expect(presentAnswer('A [1][2].', sources).answer).toBe('A [1][2].');
    expect(presentAnswer('A [2] [2] [4].', sources).answer).toBe('A [1][2].');
  });

  it('expands ranges, including reversed and dashed ones', () => {
    expect(presentAnswer('A [2-4].', sources).answer).toBe('A [1][2][3].');
    expect(indexes('A [2-4].')).toEqual(['doc-2', 'doc-3', 'doc-4']);
    expect(presentAnswer('A [3–1].', sources).answer).toBe('A [1][2][3].');
    expect(presentAnswer('A [1, 3-4].', sources).answer).toBe('A [1][2][3].');
  });

  it('sorts the markers of a run once renumbered', () => {
    const result = presentAnswer('A [4]. B [2, 4].', sources);
    expect(result.answer).toBe('A [1]. B [1][2].');
    expect(result.citations.map((c) => c.documentId)).toEqual(['doc-4', 'doc-2']);
  });

  it('removes markers that point to no source and mends the spacing', () => {
    expect(presentAnswer('Paris is big [0].', sources).answer).toBe('Paris is big.');
    expect(presentAnswer('Paris [9] is big.', sources).answer).toBe('Paris is big.');
    expect(presentAnswer('[7] Paris is big.\n[8] Rome too [6]\nEnd', sources).answer).toBe(
      'Paris is big.\nRome too\nEnd',
    );
    expect(presentAnswer('Paris is big [6] [7], old [0]; and sunny [9]', sources).answer).toBe(
      'Paris is big, old; and sunny',
    );
    expect(presentAnswer('Paris[9] is big.', sources).answer).toBe('Paris is big.');
    expect(presentAnswer('Paris is big [9].', sources).citations).toEqual([]);
  });

  it('keeps the existing part of a marker that also points to missing sources', () => {
    const result = presentAnswer('A [0, 2, 9]. B [4-7].', sources);
    expect(result.answer).toBe('A [1]. B [2][3].');
    expect(result.citations.map((c) => c.documentId)).toEqual(['doc-2', 'doc-4', 'doc-5']);
  });

  it('does not expand huge ranges beyond the sources', () => {
    const result = presentAnswer('A [4-999999999].', sources);
    expect(result.answer).toBe('A [1][2].');
    expect(result.citations).toHaveLength(2);
  });

  it('returns the answer untouched and no citations when there are no markers', () => {
    const answer = 'The sources do not contain an answer to this question.';
    expect(presentAnswer(answer, sources)).toEqual({ answer, citations: [] });
    expect(presentAnswer('Array [a] and link [x](y) stay.', sources).answer).toBe(
      'Array [a] and link [x](y) stay.',
    );
  });

  it('removes every marker when there are no sources', () => {
    expect(presentAnswer('A [1]. B [2, 3].', [])).toEqual({ answer: 'A. B.', citations: [] });
  });
});
