import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SearchHit } from '#contracts';
import { FakeRerankServer, lexicalOverlap } from '#testing';
import { RERANK_FAILED } from '../domain/retrieval.errors.js';
import { CrossEncoderReranker, type RerankDialect } from './cross-encoder.reranker.js';

/** The cross-encoder reranker against a real HTTP server speaking each dialect, good replies and bad. */
describe.each<RerankDialect>(['tei', 'cohere'])('CrossEncoderReranker, %s dialect', (dialect) => {
  let fake: FakeRerankServer;
  const reranker = (options: { timeoutMs?: number; maxDocuments?: number } = {}) =>
    new CrossEncoderReranker({
      dialect,
      baseUrl: fake.baseUrl,
      model: 'fake-reranker',
      apiKey: 'secret',
      timeoutMs: options.timeoutMs ?? 2000,
      maxDocuments: options.maxDocuments ?? 50,
    });
  const hit = (id: string, text: string, title: string | null = null): SearchHit => ({
    documentId: id,
    chunkId: `${id}#0`,
    score: 1,
    title,
    text,
    metadata: { id },
  });
  // In fused order; by overlap with the query the model puts c first and a last.
  const hits = [
    hit('a', 'Tea is grown in India.'),
    hit('b', 'Green tea is brewed briefly.'),
    hit('c', 'Green tea contains catechins, which are antioxidants.', 'Catechins'),
    hit('d', 'Coffee is roasted.'),
  ];
  const query = 'Which antioxidants does green tea contain?';
  const failure = (upstream: string, message: RegExp) =>
    expect.objectContaining({
      code: RERANK_FAILED,
      details: { upstream },
      message: expect.stringMatching(message),
    });

  beforeAll(async () => {
    fake = await new FakeRerankServer().start();
  });
  afterAll(() => fake?.close());
  beforeEach(() => {
    fake.reply({});
    fake.requests.length = 0;
  });

  it('orders the candidates as the model scores them, each hit carrying its score', async () => {
    const results = await reranker().rerank(query, hits, 4);
    expect(results.map((h) => h.documentId)).toEqual(['c', 'b', 'a', 'd']);
    expect(results[0]).toEqual({ ...hits[2], score: lexicalOverlap(query, `Catechins\n${hits[2].text}`) });
    const scores = results.map((h) => h.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));

    const [request] = fake.requests;
    expect(request).toMatchObject({ dialect, query, authorization: 'Bearer secret' });
    expect(request.documents).toEqual([
      hits[0].text,
      hits[1].text,
      `Catechins\n${hits[2].text}`,
      hits[3].text,
    ]);
    if (dialect === 'tei') expect(request.body).toMatchObject({ raw_scores: false });
    else expect(request.model).toBe('fake-reranker');
  });

  it('follows scores the model gives, not the lexical overlap', async () => {
    fake.reply({ scores: [0.1, 0.2, 0.3, 0.9] });
    const results = await reranker().rerank(query, hits, 4);
    expect(results.map((h) => [h.documentId, h.score])).toEqual([
      ['d', 0.9],
      ['c', 0.3],
      ['b', 0.2],
      ['a', 0.1],
    ]);
  });

  it('keeps the best topK and sends at most maxDocuments candidates', async () => {
    const results = await reranker().rerank(query, hits, 2);
    expect(results.map((h) => h.documentId)).toEqual(['c', 'b']);
    if (dialect === 'cohere') expect(fake.requests[0].topN).toBe(2);

    const capped = await reranker({ maxDocuments: 2 }).rerank(query, hits, 4);
    expect(fake.requests[1].documents).toHaveLength(2);
    expect(capped.map((h) => h.documentId)).toEqual(['b', 'a']);
    if (dialect === 'cohere') expect(fake.requests[1].topN).toBe(2);
  });

  it('fails when the model does not answer in time', async () => {
    fake.reply({ delayMs: 1000 });
    const started = Date.now();
    await expect(reranker({ timeoutMs: 150 }).rerank(query, hits, 2)).rejects.toEqual(
      failure('timeout', /did not answer within 150 ms/),
    );
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("fails when the caller's deadline passes first", async () => {
    fake.reply({ delayMs: 1000 });
    await expect(reranker().rerank(query, hits, 2, AbortSignal.timeout(100))).rejects.toEqual(
      failure('timeout', /request deadline passed/),
    );
  });

  it('retries a 5xx once, then fails with the status and the reason', async () => {
    fake.reply({ status: 500, message: 'model crashed' }, {});
    await expect(reranker().rerank(query, hits, 2)).resolves.toHaveLength(2);
    expect(fake.requests).toHaveLength(2);

    fake.requests.length = 0;
    fake.reply({ status: 503, message: 'warming up' });
    await expect(reranker().rerank(query, hits, 2)).rejects.toEqual(
      failure('bad-upstream', /answered 503: .*warming up/),
    );
    expect(fake.requests).toHaveLength(2);
  });

  it('does not retry a 429, nor a refusal', async () => {
    fake.reply({ status: 429, message: 'slow down' });
    await expect(reranker().rerank(query, hits, 2)).rejects.toEqual(failure('unavailable', /answered 429/));
    expect(fake.requests).toHaveLength(1);
    fake.reply({ status: 401, message: 'bad key' });
    await expect(reranker().rerank(query, hits, 2)).rejects.toEqual(
      failure('bad-upstream', /answered 401: .*bad key/),
    );
    expect(fake.requests).toHaveLength(2);
  });

  it('fails on malformed replies rather than guess an order', async () => {
    const malformed: [string, RegExp][] = [
      ['<html>oops</html>', /not JSON: <html>oops/],
      [
        dialect === 'tei'
          ? JSON.stringify([{ index: 0, score: 0.5 }])
          : JSON.stringify({ results: [{ index: 0, relevance_score: 0.5 }] }),
        /1 results for 4 documents sent/,
      ],
      [
        dialect === 'tei'
          ? JSON.stringify([0, 1, 2, 7].map((index) => ({ index, score: 0.5 })))
          : JSON.stringify({ results: [0, 7].map((index) => ({ index, relevance_score: 0.5 })) }),
        /index 7, outside the 4 documents/,
      ],
      [
        dialect === 'tei'
          ? JSON.stringify([0, 1, 2, 3].map((index) => ({ index, score: 'high' })))
          : JSON.stringify({ results: [0, 1].map((index) => ({ index, relevance_score: 'high' })) }),
        /"high", not a finite number/,
      ],
    ];
    for (const [body, message] of malformed) {
      fake.reply({ body });
      await expect(reranker().rerank(query, hits, 2)).rejects.toEqual(failure('bad-upstream', message));
    }
  });

  it('fails when the server cannot be reached', async () => {
    const gone = await new FakeRerankServer().start();
    await gone.close();
    const unreachable = new CrossEncoderReranker({
      dialect,
      baseUrl: gone.baseUrl,
      model: 'fake-reranker',
      timeoutMs: 2000,
      maxDocuments: 50,
    });
    await expect(unreachable.rerank(query, hits, 2)).rejects.toEqual(
      failure('unavailable', /could not be reached/),
    );
  });
});
