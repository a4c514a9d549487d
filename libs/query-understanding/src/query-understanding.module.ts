import { Module } from '@nestjs/common';
import { UnderstandQueryHandler } from './application/understand-query/understand-query.query-handler.js';
import { QueryUnderstandingMessageController } from './interface/query-understanding.message.controller.js';

/** Query understanding turns what the user typed into what retrieval should look for. */
@Module({ controllers: [QueryUnderstandingMessageController], providers: [UnderstandQueryHandler] })
export class QueryUnderstandingModule {}
