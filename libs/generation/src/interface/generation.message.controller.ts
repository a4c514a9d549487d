import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { GenerateRequest, Pattern, type AnswerToken, type GenerateResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { GenerateAnswerUseCase } from '../application/generate-answer/generate-answer.use-case.js';
import { StreamAnswerUseCase } from '../application/stream-answer/stream-answer.use-case.js';

@Controller()
export class GenerationMessageController {
  constructor(
    private readonly generate: GenerateAnswerUseCase,
    private readonly streamAnswer: StreamAnswerUseCase,
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
