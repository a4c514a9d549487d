import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig } from '#platform';
import { englishAnalyzer } from '#text-analysis';
import { GenerateAnswerUseCase } from './application/generate-answer/generate-answer.use-case.js';
import { StreamAnswerUseCase } from './application/stream-answer/stream-answer.use-case.js';
import { ExtractiveGenerator } from '#extractive-answer';
import { GENERATOR, type Generator } from './domain/generator.js';
import type { ChatGeneratorOptions } from './infrastructure/chat-model.generator.js';
import { GenerationMessageController } from './interface/generation.message.controller.js';

/**
 * The configured generator. Chat providers are loaded only when chosen: their clients (and the
 * tokenizer's ranks) add a noticeable moment to the start of every process, the CLI's included.
 */
export async function createGenerator(config: AppConfig['llm']): Promise<Generator> {
  if (config.provider === 'extractive') return new ExtractiveGenerator({ analyzer: englishAnalyzer });
  const options: ChatGeneratorOptions = {
    // Configuration checks at load that every chat provider has its model.
    model: config.model!,
    temperature: config.temperature,
    maxTokens: config.maxTokens,
    contextTokens: config.contextTokens,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
  };
  const connection = { baseUrl: config.baseUrl, apiKey: config.apiKey };
  switch (config.provider) {
    case 'openai': {
      const { OpenAIChatGenerator } = await import('./infrastructure/openai-chat.generator.js');
      return new OpenAIChatGenerator({ ...options, ...connection });
    }
    case 'anthropic': {
      const { AnthropicChatGenerator } = await import('./infrastructure/anthropic-chat.generator.js');
      return new AnthropicChatGenerator({ ...options, ...connection });
    }
    case 'ollama': {
      const { OllamaChatGenerator } = await import('./infrastructure/ollama-chat.generator.js');
      return new OllamaChatGenerator({ ...options, baseUrl: config.baseUrl });
    }
  }
}

/** Generation: the LLM abstraction. LLM_PROVIDER picks the model; `extractive` needs none. */
@Module({
  controllers: [GenerationMessageController],
  providers: [
    GenerateAnswerUseCase,
    StreamAnswerUseCase,
    { provide: GENERATOR, inject: [CONFIG], useFactory: (config: AppConfig) => createGenerator(config.llm) },
  ],
})
export class GenerationModule {}
