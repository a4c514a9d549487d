import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { GenerateRequest, Pattern, type GenerateResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { GenerateAnswerHandler } from '../application/generate-answer/generate-answer.command-handler.js';

@Controller()
export class GenerationMessageController {
  constructor(private readonly generate: GenerateAnswerHandler) {}

  @MessagePattern(Pattern.GenerationGenerate)
  onGenerate(
    @Payload(new ZodValidationPipe(GenerateRequest, 'generate request')) request: GenerateRequest,
  ): Promise<GenerateResponse> {
    return this.generate.execute(request);
  }
}
