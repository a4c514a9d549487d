import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig } from '#platform';
import { UnderstandQueryUseCase } from './application/understand-query/understand-query.use-case.js';
import { CHAT_MODEL } from './domain/chat-model.js';
import { createChatModel } from './infrastructure/openai-chat.model.js';
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
