import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeLlmServer, llmReply } from './fake-llm.server.js';

/** The wire formats the generation tests rely on, read with plain fetch. */
const server = new FakeLlmServer();

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

const json = async (reply: Promise<Response>): Promise<any> => (await reply).json();

describe('FakeLlmServer', () => {
  it('answers each protocol in its own JSON shape', async () => {
    server.reply(llmReply.text('Hi there.'), llmReply.text('Hi there.'), llmReply.text('Hi there.'));

    const openai = await json(post('/v1/chat/completions', { model: 'm', messages: [] }));
    const anthropic = await json(post('/v1/messages', { model: 'm', messages: [] }));
    const ollama = await json(post('/api/chat', { model: 'm', messages: [], stream: false }));

    expect(openai.choices[0]).toMatchObject({ message: { content: 'Hi there.' }, finish_reason: 'stop' });
    expect(anthropic).toMatchObject({
      content: [{ type: 'text', text: 'Hi there.' }],
      stop_reason: 'end_turn',
    });
    expect(ollama).toMatchObject({ message: { content: 'Hi there.' }, done: true });
    expect(server.requests.map((r) => [r.protocol, r.streamed])).toEqual([
      ['openai', false],
      ['anthropic', false],
      ['ollama', false],
    ]);
  });

  it('streams OpenAI chunks ending with [DONE], Anthropic events and Ollama lines', async () => {
    server.reply(llmReply.text(['a', 'b']), llmReply.text(['a', 'b']), llmReply.text(['a', 'b']));

    const openai = await (await post('/v1/chat/completions', { stream: true })).text();
    const anthropic = await (await post('/v1/messages', { stream: true })).text();
    const ollama = await (await post('/api/chat', {})).text();

    expect(openai.trim().endsWith('data: [DONE]')).toBe(true);
    expect(openai).toContain('"delta":{"content":"b"}');
    expect([...anthropic.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const lines = ollama
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.message.content, l.done])).toEqual([
      ['a', false],
      ['b', false],
      ['', true],
    ]);
  });

  it('sends scripted errors with Retry-After, and a 500 once the script runs out', async () => {
    server.reply(llmReply.error(429, { retryAfterSeconds: 3 }));

    const limited = await post('/v1/messages', {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await json(Promise.resolve(limited))).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
    const unscripted = await post('/api/chat', {});
    expect(unscripted.status).toBe(500);
    expect(await unscripted.text()).toContain('no scripted reply');
  });

  it('breaks a JSON reply mid-body', async () => {
    server.reply(llmReply.cut('a b c', 1), llmReply.unfinished('a b c', 1));

    await expect(post('/v1/chat/completions', {}).then((r) => r.text())).rejects.toThrow();
    await expect(post('/v1/chat/completions', {}).then((r) => r.json())).rejects.toThrow(SyntaxError);
  });

  it('records a client that hangs up before the reply is complete', async () => {
    server.reply(llmReply.hang(), llmReply.text('done'));
    const controller = new AbortController();

    const pending = post('/v1/chat/completions', {}, controller.signal);
    await expect.poll(() => server.requests.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();

    await expect.poll(() => server.requests[0].closedEarly).toBe(true);
    await post('/v1/chat/completions', {}).then((r) => r.text());
    expect(server.requests[1]).toMatchObject({ closedEarly: false, completed: true });
  });
});
