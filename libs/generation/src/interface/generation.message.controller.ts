import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { GenerateRequest, Pattern, type AnswerToken, type GenerateResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { GenerateAnswerHandler } from '../application/generate-answer/generate-answer.command-handler.js';
import { StreamAnswerHandler } from '../application/stream-answer/stream-answer.query-handler.js';

@Controller()
export class GenerationMessageController {
  constructor(
    private readonly generate: GenerateAnswerHandler,
    private readonly streamAnswer: StreamAnswerHandler,
  ) {}

  @MessagePattern(Pattern.GenerationGenerate)
  onGenerate(
    @Payload(new ZodValidationPipe(GenerateRequest, 'generate request')) request: GenerateRequest,
  ): Promise<GenerateResponse> {
    return this.generate.execute(request);
  }

  /** Returns an Observable: the transports send each piece as it comes (a streamed reply). */
  @MessagePattern(Pattern.GenerationStream)
  onStream(
    @Payload(new ZodValidationPipe(GenerateRequest, 'generate request')) request: GenerateRequest,
  ): Observable<AnswerToken> {
    return this.streamAnswer.execute(request);
  }
}
