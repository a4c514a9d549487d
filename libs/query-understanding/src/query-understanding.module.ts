import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig } from '#platform';
import { UnderstandQueryUseCase } from './application/understand-query/understand-query.use-case.js';
import { CHAT_MODEL, type ChatModel } from './domain/chat-model.js';
import { QueryUnderstandingMessageController } from './interface/query-understanding.message.controller.js';

/**
 * Query understanding turns what the user typed into what retrieval should look for: a normalised,
 * standalone question, its language, and, with an LLM, other phrasings of it and a hypothetical answer.
 */
@Module({
  controllers: [QueryUnderstandingMessageController],
  providers: [
    UnderstandQueryUseCase,
    { provide: CHAT_MODEL, inject: [CONFIG], useFactory: (config: AppConfig) => createChatModel(config.llm) },
  ],
})
export class QueryUnderstandingModule {}

/**
 * The LLM the rewriting steps use: only an OpenAI-compatible one, imported only then (the OpenAI client
 * is some 11 MiB of heap a process without it never needs); null without one.
 */
async function createChatModel(config: AppConfig['llm']): Promise<ChatModel | null> {
  if (config.provider !== 'openai') return null;
  const { OpenAIChatModel } = await import('./infrastructure/openai-chat.model.js');
  return new OpenAIChatModel(config);
}
