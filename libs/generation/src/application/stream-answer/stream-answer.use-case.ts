import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AnswerToken, GenerateRequest } from '#contracts';
import { GENERATOR, type Generator } from '../../domain/generator.js';

/**
 * The answer as the model produces it, one piece per value. Unsubscribing (the caller went away, here
 * or across the transport) aborts the model call.
 */
@Injectable()
export class StreamAnswerUseCase {
  constructor(@Inject(GENERATOR) private readonly generator: Generator) {}

  execute(request: GenerateRequest): Observable<AnswerToken> {
    return new Observable<AnswerToken>((subscriber) => {
      const abort = new AbortController();
      (async () => {
        for await (const text of this.generator.stream(request, abort.signal)) {
          if (abort.signal.aborted) return;
          if (text !== '') subscriber.next({ text });
        }
        subscriber.complete();
      })().catch((error: unknown) => {
        if (!abort.signal.aborted) subscriber.error(error);
      });
      return () => abort.abort();
    });
  }
}
