import { Injectable } from '@nestjs/common';
import type { UnderstandRequest, UnderstoodQuery } from '#contracts';
import { normalizeQuery } from '../../domain/normalize-query.js';

@Injectable()
export class UnderstandQueryHandler {
  execute(request: UnderstandRequest): UnderstoodQuery {
    return { original: request.query, text: normalizeQuery(request.query) };
  }
}
