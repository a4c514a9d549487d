import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploy, eventually, FakeLlmServer, http, llmReply, type Deployment } from '#testing';
import { createApp } from '#app';

interface Citation {
  index: number;
  documentId: string;
  title: string | null;
}

/**
 * The OpenAI-compatible chat endpoint driven by the official `openai` npm client, as a chat front end
 * or an agent framework would use it: ragnest as the base URL, a collection as the model, answers with
 * numbered markers in the text and their sources in `citations`, streamed or not, and errors that the
 * client recognises (its error classes, status, code and param).
 */
describe('OpenAI-compatible chat endpoint', () => {
  let llm: FakeLlmServer;
  let t: Deployment;
  let openai: OpenAI;
  // The ragnest key is the OpenAI API key: the first key may be made by a loopback client.
  let auth: Record<string, string>;

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    t = await deploy('postgres', createApp, {
      ...llm.openaiEnv,
      ANSWER_CACHE_SIZE: '0',
    });
    const key = await http(t.baseUrl, 'POST', '/rag/keys', { name: 'chat', scopes: ['admin'] });
    expect(key.status).toBe(201);
    auth = { authorization: `Bearer ${key.body.key}` };
    openai = new OpenAI({ baseURL: `${t.baseUrl}/v1`, apiKey: key.body.key, maxRetries: 0 });
    const res = await http(
      t.baseUrl,
      'POST',
      '/rag/collections/facts/documents',
      {
        documents: [
          { id: 'aspirin', title: 'Aspirin', text: 'Aspirin lowers the risk of a second heart attack.' },
          { id: 'sleep', title: 'Sleep', text: 'Regular exercise improves sleep quality in older adults.' },
        ],
      },
      auth,
    );
    expect(res.status).toBe(202);
    await eventually(
      async () =>
        (await http(t.baseUrl, 'GET', '/rag/collections/facts', undefined, auth)).body.documents?.indexed ===
        2,
    );
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });

  beforeEach(() => llm.reset());

  it('lists collections as models', async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models).toEqual([{ id: 'facts', object: 'model', created: 0, owned_by: 'ragnest' }]);
    expect(await openai.models.retrieve('ragnest/facts')).toMatchObject({ id: 'facts' });
  });

  it('answers a chat completion with the numbered markers in the text and the sources in citations', async () => {
    llm.reply(llmReply.text('Aspirin lowers the risk of a second heart attack [1].'));
    const completion = await openai.chat.completions.create({
      model: 'ragnest/facts',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Does aspirin protect the heart?' },
      ],
      temperature: 0.2,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe('ragnest/facts');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.choices[0].message).toMatchObject({
      role: 'assistant',
      content: 'Aspirin lowers the risk of a second heart attack [1].',
    });
    const citations = (completion as unknown as { citations: Citation[] }).citations;
    expect(citations[0]).toMatchObject({ index: 1, documentId: 'aspirin', title: 'Aspirin' });
    // The system message is ragnest's own business: the model saw ragnest's prompt and the question.
    const prompt = JSON.stringify(llm.requests[0].body.messages);
    expect(prompt).toContain('Does aspirin protect the heart?');
    expect(prompt).not.toContain('You are a helpful assistant.');
  });

  it('streams chat.completion.chunk events ending with [DONE], citations on the last chunk', async () => {
    const pieces = ['Exercise ', 'improves ', 'sleep ', '[1].'];
    llm.reply(llmReply.text(pieces, { tokenDelayMs: 20 }));
    const stream = await openai.chat.completions.create({
      model: 'facts',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'How can older adults sleep better?' }] }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(pieces.join(''));
    const last = chunks.at(-1)!;
    expect(last.choices[0].finish_reason).toBe('stop');
    const citations = (last as unknown as { citations: Citation[] }).citations;
    expect(citations[0]).toMatchObject({ index: 1, documentId: 'sleep' });

    // On the wire: the OpenAI framing, ending with the [DONE] sentinel.
    llm.reply(llmReply.text('Exercise helps [1].'));
    const raw = await fetch(`${t.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: 'facts', stream: true, messages: [{ role: 'user', content: 'sleep?' }] }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await raw.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(
      body
        .split('\n\n')
        .filter(Boolean)
        .every((frame) => frame.startsWith('data: ')),
    ).toBe(true);
  });

  it('takes earlier user and assistant turns as the history of the last question', async () => {
    llm.reply(
      llmReply.text('Does aspirin lower the risk of a second heart attack?'),
      llmReply.text('Yes, it lowers that risk [1].'),
    );
    const completion = await openai.chat.completions.create({
      model: 'facts',
      messages: [
        { role: 'user', content: 'Tell me about aspirin.' },
        { role: 'assistant', content: 'Aspirin is a common drug.' },
        { role: 'user', content: 'Does it help after a heart attack?' },
      ],
    });
    expect(completion.choices[0].message.content).toBe('Yes, it lowers that risk [1].');
    const sent = llm.requests.map((r) => JSON.stringify(r.body.messages));
    // The conversation reached query understanding, which made the question a standalone one.
    expect(sent[0]).toContain('Aspirin is a common drug.');
    expect(sent[0]).toContain('Does it help after a heart attack?');
    expect(sent[1]).toContain('Does aspirin lower the risk of a second heart attack?');
  });

  it('refuses an unknown model with 404 model_not_found, in OpenAI’s error shape', async () => {
    const error = await openai.chat.completions
      .create({ model: 'ragnest/nope', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
      type: 'invalid_request_error',
    });
    const streamed = await openai.chat.completions
      .create({ model: 'no such model!', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses a bad body with 400 naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ model: 'facts' }, 'messages', /messages/],
      [{ model: 'facts', messages: [] }, 'messages', /messages/],
      [{ model: 'facts', messages: [{ role: 'user', content: 'hi' }], stream: 'yes' }, 'stream', /stream/],
      [{ model: 'facts', messages: [{ role: 'wizard', content: 'hi' }] }, 'messages.0.role', /role/],
      [{ model: 'facts', messages: [{ role: 'assistant', content: 'hi' }] }, 'messages', /last message/],
      [{ model: 'facts', messages: [{ role: 'user', content: '   ' }] }, 'messages', /must not be empty/],
      [
        {
          model: 'facts',
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
        },
        'messages[0].content[0]',
        /only text/,
      ],
    ];
    for (const [body, param, message] of cases) {
      const res = await http(t.baseUrl, 'POST', '/v1/chat/completions', body, auth);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(res.body.error.message).toMatch(message);
    }
    const error = await openai.chat.completions
      .create({ model: 'facts', messages: [{ role: 'user', content: 'x'.repeat(5000) }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'messages' });
  });

  it('answers an endpoint it does not have with 404 in OpenAI’s shape', async () => {
    const res = await http(t.baseUrl, 'POST', '/v1/embeddings', { model: 'facts', input: 'x' }, auth);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: null });
  });

  it('answers malformed JSON with 400 in OpenAI’s shape', async () => {
    const res = await fetch(`${t.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: '{"model": "facts", ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringMatching(/JSON/),
    });
  });
});
