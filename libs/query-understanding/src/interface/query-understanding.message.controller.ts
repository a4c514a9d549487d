import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Pattern, UnderstandRequest, type UnderstoodQuery } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { UnderstandQueryUseCase } from '../application/understand-query/understand-query.use-case.js';

@Controller()
export class QueryUnderstandingMessageController {
  constructor(private readonly understand: UnderstandQueryUseCase) {}

  @MessagePattern(Pattern.QueryUnderstand)
  onUnderstand(
    @Payload(new ZodValidationPipe(UnderstandRequest, 'understand request')) request: UnderstandRequest,
  ): Promise<UnderstoodQuery> {
    return this.understand.execute(request);
  }
}
