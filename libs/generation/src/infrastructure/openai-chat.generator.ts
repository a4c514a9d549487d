/**
 * Generation by any OpenAI-compatible chat-completions server: OpenAI, Ollama's `/v1`, vLLM, LM Studio,
 * llama.cpp, LiteLLM.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { ChatModelGenerator, type ChatGeneratorOptions } from './chat-model.generator.js';

export interface OpenAIChatGeneratorOptions extends ChatGeneratorOptions {
  /** Root of the OpenAI-compatible API, e.g. `http://localhost:11434/v1`; OpenAI's when absent. */
  baseUrl?: string;
  /** Needed by OpenAI itself; local servers take none. */
  apiKey?: string;
}

/** Local servers ignore the key, but the OpenAI client refuses to start without one. */
const KEYLESS_SERVER_API_KEY = 'not-needed';

export class OpenAIChatGenerator extends ChatModelGenerator {
  private readonly chat: ChatOpenAI;

  constructor(options: OpenAIChatGeneratorOptions) {
    super(options);
    this.chat = new ChatOpenAI({
      model: options.model,
      apiKey: options.apiKey ?? (options.baseUrl === undefined ? undefined : KEYLESS_SERVER_API_KEY),
      temperature: options.temperature ?? 0,
      maxTokens: this.maxTokens,
      maxRetries: options.maxRetries ?? 2,
      configuration: options.baseUrl === undefined ? undefined : { baseURL: options.baseUrl },
    });
  }

  protected chatModel(): BaseChatModel {
    return this.chat;
  }

  protected isLastChunk(chunk: AIMessageChunk): boolean {
    return chunk.response_metadata.finish_reason != null;
  }
}
