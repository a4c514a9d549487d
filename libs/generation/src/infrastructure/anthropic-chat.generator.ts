/** Generation by Anthropic's Messages API (Claude), or a server that speaks it. */
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatModelGenerator, type ChatGeneratorOptions } from './chat-model.generator.js';

export interface AnthropicChatGeneratorOptions extends ChatGeneratorOptions {
  apiKey?: string;
  /** Root of the API (the client adds `/v1/messages`); Anthropic's when absent. */
  baseUrl?: string;
}

/** A proxy or a test server may take no key, but the client refuses to start without one. */
const KEYLESS_SERVER_API_KEY = 'not-needed';

export class AnthropicChatGenerator extends ChatModelGenerator {
  private readonly chat: ChatAnthropic;

  constructor(options: AnthropicChatGeneratorOptions) {
    super(options);
    this.chat = new ChatAnthropic({
      model: options.model,
      apiKey: options.apiKey ?? (options.baseUrl === undefined ? undefined : KEYLESS_SERVER_API_KEY),
      // Given explicitly, so that the client does not fall back on ANTHROPIC_BASE_URL from the environment.
      anthropicApiUrl: options.baseUrl ?? 'https://api.anthropic.com',
      temperature: options.temperature ?? 0,
      maxTokens: this.maxTokens,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  protected chatModel(): BaseChatModel {
    return this.chat;
  }

  /** `message_delta` carries the stop reason; LangChain passes its fields on as `additional_kwargs`. */
  protected isLastChunk(chunk: AIMessageChunk): boolean {
    return chunk.additional_kwargs.stop_reason != null;
  }
}
