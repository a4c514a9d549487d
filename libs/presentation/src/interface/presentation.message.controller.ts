import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Pattern, PresentRequest, type PresentResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { PresentAnswerUseCase } from '../application/present-answer/present-answer.use-case.js';

@Controller()
export class PresentationMessageController {
  constructor(private readonly present: PresentAnswerUseCase) {}

  @MessagePattern(Pattern.PresentationPresent)
  onPresent(
    @Payload(new ZodValidationPipe(PresentRequest, 'present request')) request: PresentRequest,
  ): PresentResponse {
    return this.present.execute(request);
  }
}
