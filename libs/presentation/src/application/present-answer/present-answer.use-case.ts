import { Injectable } from '@nestjs/common';
import type { PresentRequest, PresentResponse } from '#contracts';
import { presentAnswer } from '../../domain/citations.js';

@Injectable()
export class PresentAnswerUseCase {
  execute(request: PresentRequest): PresentResponse {
    return presentAnswer(request.answer, request.sources);
  }
}
