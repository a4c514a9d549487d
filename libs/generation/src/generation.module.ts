import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig, englishAnalyzer } from '#platform';
import { GenerateAnswerHandler } from './application/generate-answer/generate-answer.command-handler.js';
import { ExtractiveGenerator } from './domain/extractive.generator.js';
import { GENERATOR, type Generator } from './domain/generator.js';
import { OpenAIChatGenerator } from './infrastructure/openai-chat.generator.js';
import { GenerationMessageController } from './interface/generation.message.controller.js';

export function createGenerator(config: AppConfig['llm']): Generator {
  if (config.provider === 'openai') {
    return new OpenAIChatGenerator({
      model: config.model!,
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      temperature: config.temperature,
      maxTokens: config.maxTokens,
      timeoutMs: config.timeoutMs,
    });
  }
  return new ExtractiveGenerator({ analyzer: englishAnalyzer });
}

/** Generation: the LLM abstraction. LLM_PROVIDER picks the model; `extractive` needs none. */
@Module({
  controllers: [GenerationMessageController],
  providers: [
    GenerateAnswerHandler,
    { provide: GENERATOR, inject: [CONFIG], useFactory: (config: AppConfig) => createGenerator(config.llm) },
  ],
})
export class GenerationModule {}
