import { describe, expect, it } from 'vitest';
import { loadConfig } from '#platform';
import { ExtractiveGenerator } from '#extractive-answer';
import { createGenerator } from './generation.module.js';
import { AnthropicChatGenerator } from './infrastructure/anthropic-chat.generator.js';
import { OllamaChatGenerator } from './infrastructure/ollama-chat.generator.js';
import { OpenAIChatGenerator } from './infrastructure/openai-chat.generator.js';

describe('createGenerator', () => {
  it('builds the generator LLM_PROVIDER names', async () => {
    const model = { LLM_MODEL: 'm', LLM_BASE_URL: 'http://127.0.0.1:9' };
    const of = (env: Record<string, string>) => createGenerator(loadConfig(env).llm);

    expect(await of({})).toBeInstanceOf(ExtractiveGenerator);
    expect(await of({ LLM_PROVIDER: 'openai', ...model })).toBeInstanceOf(OpenAIChatGenerator);
    expect(await of({ LLM_PROVIDER: 'anthropic', ...model })).toBeInstanceOf(AnthropicChatGenerator);
    const ollama = await of({ LLM_PROVIDER: 'ollama', LLM_MODEL: 'llama3.1:8b' });
    expect(ollama).toBeInstanceOf(OllamaChatGenerator);
    expect(ollama.model).toBe('llama3.1:8b');
  });
});
