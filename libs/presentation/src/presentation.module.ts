import { Module } from '@nestjs/common';
import { PresentAnswerUseCase } from './application/present-answer/present-answer.use-case.js';
import { PresentationMessageController } from './interface/presentation.message.controller.js';

/** Presentation: post-processing of answers (citations checked, renumbered and listed). */
@Module({ controllers: [PresentationMessageController], providers: [PresentAnswerUseCase] })
export class PresentationModule {}
