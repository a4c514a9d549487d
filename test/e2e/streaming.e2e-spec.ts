import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  deploy,
  eventually,
  FakeLlmServer,
  http,
  llmReply,
  openEventStream,
  type Deployment,
  type DeploymentKind,
  type SseEvent,
} from '#testing';
import { createApp } from '#app';

const TOKEN_DELAY_MS = 150;

/**
 * `/rag/query` with `"stream": true` against a model that streams (a fake OpenAI-compatible server),
 * in one process and with every context in its own process over Redis: the tokens reach the client as
 * the model produces them, a client that goes away cancels the model call, and failures before or
 * after the first token are told apart.
 */
describe.each<DeploymentKind>(['postgres', 'distributed'])('streamed answers, %s', (kind) => {
  let llm: FakeLlmServer;
  let t: Deployment;
  const query = (query: string) =>
    openEventStream(`${t.baseUrl}/rag/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ collection: 'facts', query, stream: true }),
    });

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    t = await deploy(kind, createApp, {
      ...llm.openaiEnv,
      ANSWER_CACHE_SIZE: '0',
    });
    const res = await http(t.baseUrl, 'POST', '/rag/collections/facts/documents', {
      documents: [
        { id: 'a', text: 'Aspirin lowers the risk of a second heart attack.' },
        { id: 'b', text: 'Regular exercise improves sleep quality in older adults.' },
      ],
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const c = await http(t.baseUrl, 'GET', '/rag/collections/facts');
      return c.body.documents?.indexed === 2;
    });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });

  beforeEach(() => llm.reset());

  it('sends each token as the model produces it, in order, then done', async () => {
    const pieces = ['Aspirin ', 'lowers ', 'the ', 'risk ', '[1].'];
    llm.reply(llmReply.text(pieces, { tokenDelayMs: TOKEN_DELAY_MS }));
    const stream = await query('does aspirin lower heart attack risk');
    expect(stream.status).toBe(200);
    const events: SseEvent[] = [];
    const arrived: number[] = [];
    for (let e = await stream.next(); e; e = await stream.next()) {
      events.push(e);
      arrived.push(performance.now());
    }
    expect(events[0].event).toBe('sources');
    const tokens = events.filter((e) => e.event === 'token');
    expect(tokens.map((e) => e.data.text).join('')).toBe(pieces.join(''));
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    // Only generation is under test here: a slow machine may make another stage fall back.
    expect(done.data.degraded).not.toContain('generation');
    expect(done.data.citations[0].documentId).toBe('a');
    // Streamed, not replayed: the first token came long before the model had finished.
    const firstToken = events.findIndex((e) => e.event === 'token');
    expect(arrived.at(-1)! - arrived[firstToken]).toBeGreaterThan(TOKEN_DELAY_MS * 2);
    expect(llm.requests[0].streamed).toBe(true);
  });

  it('cancels the model call when the client goes away', async () => {
    llm.reply(
      llmReply.text(
        Array.from({ length: 200 }, (_, i) => `word${i} `),
        { tokenDelayMs: 50 },
      ),
    );
    const stream = await query('aspirin');
    await stream.readUntil((e) => e.event === 'token');
    await stream.cancel();
    await eventually(async () => llm.requests[0]?.closedEarly === true, 10_000);
    expect(llm.requests[0].completed).toBe(false);
  });

  it('falls back to the extractive answer when the model fails before its first token', async () => {
    llm.reply(llmReply.error(500));
    const events = await (await query('exercise and sleep')).readUntil();
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.degraded).toContain('generation');
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text);
    expect(tokens.join('')).toBe(done.data.answer);
  });

  it('ends with an error event when the model stream is cut after tokens were sent', async () => {
    llm.reply(llmReply.cut(['Aspirin ', 'lowers ', 'the ', 'risk.'], 2, { tokenDelayMs: 20 }));
    const events = await (await query('aspirin')).readUntil();
    expect(events.filter((e) => e.event === 'token').length).toBeGreaterThan(0);
    expect(events.at(-1)!.event).toBe('error');
    expect(events.some((e) => e.event === 'done')).toBe(false);
  });
});
