import { Inject, Injectable } from '@nestjs/common';
import type { GenerateRequest, GenerateResponse } from '#contracts';
import { GENERATOR, type Generator } from '../../domain/generator.js';

@Injectable()
export class GenerateAnswerUseCase {
  constructor(@Inject(GENERATOR) private readonly generator: Generator) {}

  execute(request: GenerateRequest): Promise<GenerateResponse> {
    return this.generator.generate(request);
  }
}
