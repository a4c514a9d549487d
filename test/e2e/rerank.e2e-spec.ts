import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploy, eventually, FakeRerankServer, http, type Deployment, type DeploymentKind } from '#testing';
import { createApp } from '#app';

/**
 * POST /rag/query with a cross-encoder behind TEI's rerank API (a fake one, over real HTTP): the sources
 * are cited in the model's order, and when the model fails the answer still comes, in the fused order,
 * with `rerank` named in `degraded`.
 */
describe.each<DeploymentKind>(['postgres', 'distributed'])(
  're-ranking by a TEI cross-encoder on %s',
  (kind) => {
    let fake: FakeRerankServer;
    let t: Deployment;
    // One sentence each, alike in length and in how well they match the question, so that the extractive
    // answer cites every source it is given and the citations show the order of the sources.
    const documents = [
      { id: 'catechins', title: 'Catechins', text: 'Green tea contains catechins, a kind of antioxidant.' },
      { id: 'pressure', title: 'Blood pressure', text: 'Green tea may lower blood pressure a little.' },
      { id: 'brewing', title: 'Brewing', text: 'Green tea is brewed with water below boiling.' },
      { id: 'origin', title: 'Origin', text: 'Green tea was first drunk in ancient China.' },
    ];
    const query = (body: Record<string, unknown> = {}) =>
      http(t.baseUrl, 'POST', '/rag/query', { collection: 'tea', query: 'green tea', topK: 3, ...body });
    /** The documents the last rerank call sent, as ids, in the order sent (the fused order). */
    const sentIds = () =>
      fake.requests
        .at(-1)!
        .documents.map((sent) => documents.find((d) => sent.startsWith(`${d.title}\n`))!.id);

    beforeAll(async () => {
      fake = await new FakeRerankServer().start();
      t = await deploy(kind, createApp, {
        RERANK_PROVIDER: 'tei',
        RERANK_BASE_URL: fake.baseUrl,
        // Every query must reach the reranker, not the answer cache.
        ANSWER_CACHE_SIZE: '0',
      });
      const res = await http(t.baseUrl, 'POST', '/rag/collections/tea/documents', { documents });
      expect(res.status).toBe(202);
      for (const { id } of documents) {
        await eventually(async () => {
          const doc = await http(t.baseUrl, 'GET', `/rag/collections/tea/documents/${id}`);
          expect(doc.body.status).not.toBe('failed');
          return doc.body.status === 'indexed';
        });
      }
    });

    afterAll(async () => {
      await t?.close();
      await fake?.close();
    });

    beforeEach(() => {
      fake.requests.length = 0;
    });

    it("cites the sources in the model's order, with the model's scores", async () => {
      // Scores rising with the position sent: the model reverses the fused order.
      fake.reply({ scores: (_query, _document, index) => (index + 1) / 10 });
      const res = await query();
      expect(res.status).toBe(200);
      expect(res.body.degraded).toEqual([]);
      expect(fake.requests).toHaveLength(1);
      const sent = sentIds();
      expect(sent).toHaveLength(documents.length);
      const modelOrder = [...sent].reverse().slice(0, 3);
      expect(modelOrder).not.toEqual(sent.slice(0, 3));
      expect(res.body.citations.map((c: { documentId: string }) => c.documentId)).toEqual(modelOrder);
      expect(res.body.citations.map((c: { score: number }) => c.score)).toEqual([0.4, 0.3, 0.2]);
      expect(res.body.citations.map((c: { index: number }) => c.index)).toEqual([1, 2, 3]);
    });

    it('answers in the fused order, degraded, when the model fails', async () => {
      fake.reply({ status: 500, message: 'model crashed' });
      const res = await query();
      expect(res.status).toBe(200);
      expect(res.body.degraded).toEqual(['rerank']);
      expect(res.body.answer).toMatch(/\[1\]/);
      // One retry of the 5xx, then the gateway's fallback.
      expect(fake.requests).toHaveLength(2);
      const cited = res.body.citations.map((c: { documentId: string }) => c.documentId);
      expect(cited).toEqual(sentIds().slice(0, cited.length));
    });
  },
);
