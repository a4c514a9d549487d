import { describe, expect, it } from 'vitest';
import { EvalSetError, MAX_QUERIES, parseEvalFiles } from './eval-data.js';

describe('parseEvalFiles', () => {
  it('reads JSONL questions with plain or graded relevant ids', () => {
    const set = parseEvalFiles([
      {
        name: 'set.jsonl',
        text: '{"query":"a?","relevant":["d1","d2"]}\n\n{"id":"q2","question":"b?","relevant":{"d3":2,"d4":0}}\n',
      },
    ]);
    expect(set.corpus).toEqual([]);
    expect(set.queries).toEqual([
      {
        id: '1',
        text: 'a?',
        relevant: new Map([
          ['d1', 1],
          ['d2', 1],
        ]),
      },
      {
        id: 'q2',
        text: 'b?',
        relevant: new Map([
          ['d3', 2],
          ['d4', 0],
        ]),
      },
    ]);
  });

  it('reads a JSON array, or an object with a queries array', () => {
    const q = { query: 'a?', expected: ['d1'] };
    for (const text of [JSON.stringify([q]), JSON.stringify({ queries: [q] }, null, 2)])
      expect(parseEvalFiles([{ name: 'set.json', text }]).queries).toHaveLength(1);
  });

  it('reads a BEIR folder: queries joined to their qrels, unjudged ones left out, the corpus kept', () => {
    const set = parseEvalFiles([
      {
        name: 'scifact/corpus.jsonl',
        text: '{"_id":"d1","title":"T","text":"one"}\n{"_id":"d2","text":"two"}',
      },
      { name: 'scifact/queries.jsonl', text: '{"_id":"1","text":"first"}\n{"_id":"2","text":"second"}' },
      { name: 'scifact/qrels/test.tsv', text: 'query-id\tcorpus-id\tscore\n1\td2\t1\n' },
    ]);
    expect(set.corpus).toEqual([
      { id: 'd1', title: 'T', text: 'one' },
      { id: 'd2', text: 'two' },
    ]);
    expect(set.queries).toEqual([{ id: '1', text: 'first', relevant: new Map([['d2', 1]]) }]);
  });

  it('names what is wrong', () => {
    const bad = (name: string, text: string) => () => parseEvalFiles([{ name, text }]);
    expect(bad('x.jsonl', '{"query":"a?"}')).toThrow(/question 1: no "relevant"/);
    expect(bad('x.jsonl', '{"relevant":["d"]}')).toThrow(/question 1: no "query"/);
    expect(bad('x.jsonl', '{"query":"a?","relevant":["d"]}\nnot json')).toThrow(/x.jsonl line 2: not JSON/);
    expect(bad('queries.jsonl', '{"_id":"1","text":"a"}')).toThrow(/qrels/);
    expect(() => parseEvalFiles([])).toThrow(EvalSetError);
    const many = Array.from({ length: MAX_QUERIES + 1 }, () => '{"query":"q","relevant":["d"]}').join('\n');
    expect(bad('x.jsonl', many)).toThrow(/up to 500/);
  });
});
