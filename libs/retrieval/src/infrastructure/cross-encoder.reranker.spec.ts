import { describe, expect, it } from 'vitest';
import { CrossEncoderReranker, parseRerankReply, rerankEndpoint } from './cross-encoder.reranker.js';

describe('parseRerankReply', () => {
  it('reads a TEI reply best first, whatever order it came in', () => {
    const reply = [
      { index: 1, score: 0.2 },
      { index: 2, score: 0.9 },
      { index: 0, score: 0.5 },
    ];
    expect(parseRerankReply('tei', reply, 3, 2)).toEqual([
      { index: 2, score: 0.9 },
      { index: 0, score: 0.5 },
      { index: 1, score: 0.2 },
    ]);
  });

  it('breaks ties by request order, which is the fused order', () => {
    const reply = [
      { index: 2, score: 0.5 },
      { index: 0, score: 0.5 },
      { index: 1, score: 0.5 },
    ];
    expect(parseRerankReply('tei', reply, 3, 3).map((s) => s.index)).toEqual([0, 1, 2]);
  });

  it('reads a Cohere-style reply of the best top_n, or of more when the server ignores top_n', () => {
    const results = [
      { index: 3, relevance_score: 0.8, document: { text: 'ignored' } },
      { index: 0, relevance_score: 0.7 },
    ];
    expect(parseRerankReply('cohere', { id: 'x', results }, 4, 2)).toEqual([
      { index: 3, score: 0.8 },
      { index: 0, score: 0.7 },
    ]);
    const all = [0, 1, 2, 3].map((index) => ({ index, relevance_score: index / 10 }));
    expect(parseRerankReply('cohere', { results: all }, 4, 2)).toHaveLength(4);
  });

  it('refuses a reply of the wrong length', () => {
    expect(() => parseRerankReply('tei', [{ index: 0, score: 1 }], 2, 1)).toThrow(
      /1 results for 2 documents sent, expected 2/,
    );
    expect(() => parseRerankReply('cohere', { results: [{ index: 0, relevance_score: 1 }] }, 3, 2)).toThrow(
      /1 results for 3 documents sent, expected 2 to 3/,
    );
    const tooMany = [0, 1, 2].map((index) => ({ index, score: 1 }));
    expect(() => parseRerankReply('tei', tooMany, 2, 2)).toThrow(/3 results for 2 documents/);
  });

  it('refuses an index out of range, repeated, or not an integer', () => {
    const at = (index: unknown) => [
      { index: 0, score: 1 },
      { index, score: 0.5 },
    ];
    expect(() => parseRerankReply('tei', at(2), 2, 2)).toThrow(
      /result #1 has index 2, outside the 2 documents/,
    );
    expect(() => parseRerankReply('tei', at(-1), 2, 2)).toThrow(/index -1, outside/);
    expect(() => parseRerankReply('tei', at(0.5), 2, 2)).toThrow(/index 0.5, outside/);
    expect(() => parseRerankReply('tei', at('1'), 2, 2)).toThrow(/index "1", outside/);
    expect(() => parseRerankReply('tei', at(0), 2, 2)).toThrow(/result #1 repeats index 0/);
  });

  it('refuses a score that is not a finite number', () => {
    for (const score of ['0.5', null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => parseRerankReply('tei', [{ index: 0, score }], 1, 1)).toThrow(
        /result #0 has score .*not a finite number/,
      );
    }
    expect(() => parseRerankReply('cohere', { results: [{ index: 0, score: 1 }] }, 1, 1)).toThrow(
      /relevance_score undefined, not a finite number/,
    );
  });

  it('refuses a reply of the wrong shape, naming the expected one', () => {
    expect(() => parseRerankReply('tei', { results: [] }, 1, 1)).toThrow(
      /expected an array of \{index, score\}, got an object/,
    );
    expect(() => parseRerankReply('cohere', [], 1, 1)).toThrow(/expected \{results: .*got an array/);
    expect(() => parseRerankReply('cohere', { data: [] }, 1, 1)).toThrow(/expected \{results/);
    expect(() => parseRerankReply('tei', ['x'], 1, 1)).toThrow(/result #0 is a string, not an object/);
    expect(() => parseRerankReply('tei', null, 1, 1)).toThrow(/got null/);
  });
});

describe('rerankEndpoint', () => {
  it('appends each dialect path to the server root', () => {
    expect(rerankEndpoint('tei', 'http://tei:8080')).toBe('http://tei:8080/rerank');
    expect(rerankEndpoint('tei', 'http://tei:8080/')).toBe('http://tei:8080/rerank');
    expect(rerankEndpoint('cohere', 'https://api.jina.ai')).toBe('https://api.jina.ai/v1/rerank');
  });

  it('takes a Cohere-style root that already names its version as it is', () => {
    expect(rerankEndpoint('cohere', 'https://api.jina.ai/v1/')).toBe('https://api.jina.ai/v1/rerank');
    expect(rerankEndpoint('cohere', 'https://api.cohere.com/v2')).toBe('https://api.cohere.com/v2/rerank');
  });
});

describe('CrossEncoderReranker', () => {
  const options = { baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000, maxDocuments: 10 };

  it('needs a model for the cohere dialect and a positive maxDocuments', () => {
    expect(() => new CrossEncoderReranker({ ...options, dialect: 'cohere' })).toThrow(/needs a model/);
    expect(() => new CrossEncoderReranker({ ...options, dialect: 'tei', maxDocuments: 0 })).toThrow(
      /maxDocuments/,
    );
  });

  it('answers no candidates without calling the server', async () => {
    const reranker = new CrossEncoderReranker({ ...options, dialect: 'tei' });
    await expect(reranker.rerank('q', [], 5)).resolves.toEqual([]);
  });
});
