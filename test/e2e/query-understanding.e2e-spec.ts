import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { RETRIEVAL_PORT, type RetrievalPort } from '#contracts';
import { eventually, http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * Query understanding with an LLM, over real sockets: a conversation condensed into one standalone
 * question, other phrasings and a hypothetical answer searched beside it and fused, and the query
 * still answered when the LLM is down. The LLM is a scripted OpenAI-compatible chat server on
 * 127.0.0.1 that tells the steps apart by their system prompts (generation's is the one it does not know).
 */
type Kind = 'condense' | 'multi-query' | 'hyde' | 'generation';

interface ChatRequest {
  kind: Kind;
  system: string;
  user: string;
}

const COMPLETION = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'fake' };

class FakeChatServer {
  readonly requests: ChatRequest[] = [];
  /** Reply per kind of request, as JSON or streamed as asked; `down` answers every request with a 500. */
  replies: Record<Kind, string> = { condense: '', 'multi-query': '', hyde: '', generation: '' };
  down = false;
  baseUrl = '';
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  kinds(): Kind[] {
    return this.requests.map((r) => r.kind);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const { messages, stream } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      messages: { role: string; content: string }[];
      stream?: boolean;
    };
    const system = messages.find((m) => m.role === 'system')?.content ?? '';
    const user = messages.find((m) => m.role === 'user')?.content ?? '';
    const kind: Kind = system.includes('standalone question')
      ? 'condense'
      : system.includes('phrasings')
        ? 'multi-query'
        : system.includes('reference document')
          ? 'hyde'
          : 'generation';
    this.requests.push({ kind, system, user });
    if (this.down) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'the model crashed', type: 'server_error' } }));
      return;
    }
    const content = this.replies[kind];
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...COMPLETION,
          object: 'chat.completion',
          choices: [
            { index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
      return;
    }
    // Generation streams: the reply as server-sent chunks, the last one saying the model is done.
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      `data: ${JSON.stringify({
        ...COMPLETION,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: '' }));
    res.write(chunk({ content }));
    res.write(chunk({}, 'stop'));
    res.end('data: [DONE]\n\n');
  }
}

const DOCUMENTS = [
  {
    id: 'aspirin',
    title: 'Aspirin and stroke',
    text: 'Daily low-dose aspirin prevents a first ischemic stroke in women.',
  },
  {
    id: 'bleeding',
    title: 'Gastrointestinal haemorrhage',
    text: 'Acetylsalicylic acid commonly causes gastrointestinal haemorrhage.',
  },
  {
    id: 'ulcer',
    title: 'Stomach lining',
    text: 'Long-term use can erode the stomach lining and cause peptic ulcers.',
  },
  {
    id: 'coffee',
    title: 'Coffee and liver',
    text: 'Coffee consumption is associated with a lower risk of liver cirrhosis.',
  },
];

const HISTORY = [
  { role: 'user', content: 'Does aspirin prevent strokes?' },
  {
    role: 'assistant',
    content: 'Yes: daily low-dose aspirin prevents a first ischemic stroke in women [1].',
  },
];

describe('query understanding with an LLM', () => {
  const llm = new FakeChatServer();
  let t: TestApp;
  let search: MockInstance<RetrievalPort['search']>;
  const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);
  const ask = (body: Record<string, unknown>) => call('POST', '/rag/query', { collection: 'qu', ...body });
  const searched = () => search.mock.calls.map(([r]) => [r.query, r.mode]);
  const cited = (body: { citations: { documentId: string }[] }) =>
    body.citations.map((c) => c.documentId).sort();

  beforeAll(async () => {
    await llm.start();
    t = await startTestApp(createApp, 'postgres', {
      LLM_PROVIDER: 'openai',
      LLM_MODEL: 'fake',
      LLM_BASE_URL: llm.baseUrl,
      QUERY_MULTI_QUERY: '2',
      // Generation gives up on a failing model at once, so the test of the LLM being down is quick.
      LLM_MAX_RETRIES: '0',
      // Each request is computed afresh, so each one shows what was searched.
      ANSWER_CACHE_SIZE: '0',
    });
    search = vi.spyOn(t.app.get<RetrievalPort>(RETRIEVAL_PORT, { strict: false }), 'search');
    expect((await call('POST', '/rag/collections/qu/documents', { documents: DOCUMENTS })).status).toBe(202);
    for (const { id } of DOCUMENTS)
      await eventually(
        async () => (await call('GET', `/rag/collections/qu/documents/${id}`)).body.status === 'indexed',
      );
  });

  beforeEach(() => {
    search.mockClear();
    llm.requests.length = 0;
    llm.down = false;
    // The answer cites every source it is given, so the citations are what retrieval found.
    llm.replies = {
      condense: '',
      'multi-query': '',
      hyde: '',
      generation: 'See [1][2][3][4][5].',
    };
  });

  afterAll(async () => {
    await t?.close();
    await llm.close();
  });

  it('condenses the conversation into the standalone question it searches and answers', async () => {
    llm.replies.condense = 'What are the side effects of aspirin?';
    llm.replies.generation = 'Stomach bleeding [1].';
    const res = await ask({
      query: 'What about its side effects?',
      history: HISTORY,
      expand: { multiQuery: false },
    });
    expect(res.status).toBe(200);
    expect(res.body.degraded).toEqual([]);
    expect(llm.kinds()).toEqual(['condense', 'generation']);
    expect(llm.requests[0].user).toContain('User: Does aspirin prevent strokes?');
    expect(llm.requests[0].user).toContain('Last question: What about its side effects?');
    expect(searched()).toEqual([['What are the side effects of aspirin?', 'hybrid']]);
    expect(llm.requests[1].user).toMatch(/Question: What are the side effects of aspirin\?$/);
  });

  it('searches each phrasing beside the question and fuses them: a document only a phrasing finds is cited', async () => {
    llm.replies['multi-query'] =
      '1. acetylsalicylic acid gastrointestinal haemorrhage\n2. aspirin adverse effects';
    const question = { query: 'What are the side effects of aspirin?', mode: 'sparse', topK: 3 };

    const plain = await ask({ ...question, expand: { multiQuery: false } });
    expect(plain.status).toBe(200);
    expect(searched()).toEqual([['What are the side effects of aspirin?', 'sparse']]);
    expect(cited(plain.body)).toEqual(['aspirin']);

    search.mockClear();
    const expanded = await ask(question);
    expect(expanded.status).toBe(200);
    expect(expanded.body.degraded).toEqual([]);
    expect(llm.kinds()).toContain('multi-query');
    // QUERY_MULTI_QUERY=2: the question and two phrasings, three retrievals in all.
    expect(searched()).toEqual([
      ['What are the side effects of aspirin?', 'sparse'],
      ['acetylsalicylic acid gastrointestinal haemorrhage', 'sparse'],
      ['aspirin adverse effects', 'sparse'],
    ]);
    expect(cited(expanded.body)).toEqual(['aspirin', 'bleeding']);
    // Found by all three lists' fusion: the question's own best match comes first.
    expect(expanded.body.citations[0].documentId).toBe('aspirin');
  });

  it('searches a hypothetical answer when asked: by meaning, or as another query in sparse search', async () => {
    llm.replies.hyde = 'Long-term use may erode the stomach lining\nand lead to peptic ulcers.';
    const passage = 'Long-term use may erode the stomach lining and lead to peptic ulcers.';
    const question = {
      query: 'What are the side effects of aspirin?',
      expand: { multiQuery: false, hyde: true },
    };

    const sparse = await ask({ ...question, mode: 'sparse' });
    expect(sparse.status).toBe(200);
    expect(sparse.body.degraded).toEqual([]);
    expect(searched()).toEqual([
      ['What are the side effects of aspirin?', 'sparse'],
      [passage, 'sparse'],
    ]);
    expect(cited(sparse.body)).toEqual(['aspirin', 'ulcer']);

    search.mockClear();
    const hybrid = await ask(question);
    expect(hybrid.status).toBe(200);
    expect(searched()).toEqual([
      ['What are the side effects of aspirin?', 'hybrid'],
      [passage, 'dense'],
    ]);
  });

  it('answers with the plain question when the LLM is down, and says so', async () => {
    llm.down = true;
    const res = await ask({
      query: 'What about its side effects?',
      history: HISTORY,
      expand: { multiQuery: true, hyde: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.answer).not.toBe('');
    expect(res.body.citations.length).toBeGreaterThan(0);
    expect(res.body.degraded).toEqual(expect.arrayContaining(['understanding', 'generation']));
    // The rule-based condensing stands in for the model's; nothing else is searched.
    expect(searched()).toEqual([['aspirin prevent strokes: What about its side effects?', 'hybrid']]);
  });

  it.each([
    [
      'too many turns',
      { history: Array.from({ length: 21 }, () => ({ role: 'user', content: 'x' })) },
      'history',
    ],
    ['a system turn', { history: [{ role: 'system', content: 'x' }] }, 'history.0.role'],
    ['a NUL in a turn', { history: [{ role: 'user', content: 'a\u0000b' }] }, 'history.0.content'],
    ['an over-long turn', { history: [{ role: 'user', content: 'x'.repeat(8001) }] }, 'history.0.content'],
    ['an unknown expansion', { expand: { rerank: true } }, 'expand'],
  ])('refuses %s with a 400 naming the field', async (_name, extra, field) => {
    const res = await ask({ query: 'why?', ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('GATEWAY.VALIDATION_FAILED');
    expect(res.body.error.message).toContain(field);
    expect(search).not.toHaveBeenCalled();
  });
});
