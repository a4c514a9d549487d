import { describe, expect, it } from 'vitest';
import { loadConfig, RequestContext } from '#platform';
import type { ChatModel } from '../../domain/chat-model.js';
import type { PromptMessage } from '../../domain/rewrite-prompts.js';
import { DEFAULT_PHRASINGS, UnderstandQueryUseCase } from './understand-query.use-case.js';

type Step = 'condense' | 'multi-query' | 'hyde';

/** A scripted model: each step's reply (or failure), told apart by its system prompt. */
class ScriptedModel implements ChatModel {
  readonly calls: { step: Step; messages: PromptMessage[] }[] = [];

  constructor(private readonly replies: Partial<Record<Step, (messages: PromptMessage[]) => string>>) {}

  complete(messages: PromptMessage[], signal: AbortSignal): Promise<string> {
    const system = messages[0].content;
    const step: Step = system.includes('standalone')
      ? 'condense'
      : system.includes('phrasings')
        ? 'multi-query'
        : 'hyde';
    this.calls.push({ step, messages });
    const reply = this.replies[step];
    if (!reply) {
      // Never answers: only the signal ends the call.
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
    }
    return Promise.resolve().then(() => reply(messages));
  }
}

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    LLM_PROVIDER: 'openai',
    LLM_MODEL: 'm',
    // Never called: the handler is given its model directly.
    LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    CALL_TIMEOUT_MS: '2000',
    ...env,
  });
const history = [
  { role: 'user' as const, content: 'Does aspirin lower the risk of stroke?' },
  { role: 'assistant' as const, content: 'Yes, in women [1].' },
];
const collection = 'c';

describe('UnderstandQueryUseCase', () => {
  it('without an LLM, condenses by rule and searches one query, whatever is asked', async () => {
    const handler = new UnderstandQueryUseCase(null, config({ QUERY_MULTI_QUERY: '3', QUERY_HYDE: 'true' }));
    const understood = await handler.execute({
      collection,
      query: ' and  its side effects? ',
      history,
      expand: { multiQuery: true, hyde: true },
    });
    expect(understood).toEqual({
      original: ' and  its side effects? ',
      text: 'aspirin lower risk stroke: and its side effects?',
      language: 'en',
      queries: ['aspirin lower risk stroke: and its side effects?'],
    });
  });

  it('condenses the conversation with the LLM, then expands the standalone question', async () => {
    const model = new ScriptedModel({
      condense: () => 'What are the side effects of aspirin?',
      'multi-query': () =>
        '1. aspirin adverse effects\n2. harms of acetylsalicylic acid\n3. aspirin bleeding risk',
      hyde: () => 'Aspirin can cause stomach bleeding.\nIt may also cause ulcers.',
    });
    const handler = new UnderstandQueryUseCase(model, config({ QUERY_MULTI_QUERY: '2', QUERY_HYDE: 'true' }));
    const understood = await handler.execute({ collection, query: 'and its side effects?', history });
    expect(understood).toEqual({
      original: 'and its side effects?',
      text: 'What are the side effects of aspirin?',
      language: 'en',
      queries: [
        'What are the side effects of aspirin?',
        'aspirin adverse effects',
        'harms of acetylsalicylic acid',
      ],
      hyde: 'Aspirin can cause stomach bleeding. It may also cause ulcers.',
    });
    expect(model.calls.map((c) => c.step)).toEqual(['condense', 'multi-query', 'hyde']);
    expect(model.calls[0].messages[1].content).toContain('User: Does aspirin lower the risk of stroke?');
    expect(model.calls[1].messages[1].content).toBe('Question: What are the side effects of aspirin?');
  });

  it('lets a request turn expansion on or off, whatever the defaults', async () => {
    const model = new ScriptedModel({ 'multi-query': () => 'a b\nc d\ne f\ng h', hyde: () => 'passage' });
    const off = new UnderstandQueryUseCase(model, config({ QUERY_MULTI_QUERY: '2', QUERY_HYDE: 'true' }));
    expect(await off.execute({ collection, query: 'q', expand: { multiQuery: false, hyde: false } })).toEqual(
      {
        original: 'q',
        text: 'q',
        language: 'und',
        queries: ['q'],
      },
    );
    expect(model.calls).toHaveLength(0);

    const on = new UnderstandQueryUseCase(model, config());
    const understood = await on.execute({ collection, query: 'q', expand: { multiQuery: true } });
    expect(understood.queries).toHaveLength(1 + DEFAULT_PHRASINGS);
    expect(understood.hyde).toBeUndefined();
    expect(model.calls[0].messages[0].content).toContain(`exactly ${DEFAULT_PHRASINGS} lines`);
  });

  it('falls back to the plain question, marked degraded, when a step fails or replies nothing usable', async () => {
    const model = new ScriptedModel({
      condense: () => {
        throw new Error('500 the model crashed');
      },
      'multi-query': () => 'Sure:\n\n',
      hyde: () => 'Aspirin thins the blood.',
    });
    const handler = new UnderstandQueryUseCase(model, config());
    const understood = await handler.execute({
      collection,
      query: 'and its side effects?',
      history,
      expand: { multiQuery: true, hyde: true },
    });
    expect(understood).toEqual({
      original: 'and its side effects?',
      text: 'aspirin lower risk stroke: and its side effects?',
      language: 'en',
      queries: ['aspirin lower risk stroke: and its side effects?'],
      hyde: 'Aspirin thins the blood.',
      degraded: true,
    });
  });

  it('gives up on a model that does not answer before the call’s deadline', async () => {
    const model = new ScriptedModel({});
    const handler = new UnderstandQueryUseCase(model, config());
    const started = Date.now();
    const understood = await RequestContext.run({ requestId: 'r', deadline: Date.now() + 300 }, () =>
      handler.execute({ collection, query: 'q?', history, expand: { multiQuery: true } }),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(understood).toMatchObject({
      text: 'aspirin lower risk stroke: q?',
      queries: ['aspirin lower risk stroke: q?'],
      degraded: true,
    });
    expect(model.calls.map((c) => c.step)).toEqual(['condense']);
  });
});
