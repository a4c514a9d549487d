import { Module } from '@nestjs/common';
import { PresentAnswerHandler } from './application/present-answer/present-answer.query-handler.js';
import { PresentationMessageController } from './interface/presentation.message.controller.js';

/** Presentation: post-processing of answers (citations checked, renumbered and listed). */
@Module({ controllers: [PresentationMessageController], providers: [PresentAnswerHandler] })
export class PresentationModule {}
