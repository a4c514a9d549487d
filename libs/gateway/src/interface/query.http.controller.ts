import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryBody, type QueryResponse, type QueryTimings } from '#contracts';
import { RateLimit, toAppError, ZodValidationPipe } from '#platform';
import type { AnswerCacheStatus } from '../application/answer-query/answer-cache.port.js';
import { AnswerQueryUseCase } from '../application/answer-query/answer-query.use-case.js';
import { assertRead } from './access.js';
import { openEventStream, sseFrame } from './sse.js';

@RateLimit('query')
@Controller('rag')
export class QueryHttpController {
  constructor(private readonly answer: AnswerQueryUseCase) {}

  @Post('query')
  @HttpCode(200)
  async query(
    @Body(new ZodValidationPipe(QueryBody)) body: QueryBody,
    @Req() req: Request & { requestId?: string },
    @Res({ passthrough: true }) res: Response,
  ): Promise<QueryResponse | void> {
    const requestId = req.requestId ?? '';
    assertRead(req, body.collection);
    if (!body.stream) {
      const started = performance.now();
      let cache = 'bypass' as AnswerCacheStatus;
      const response = await this.answer.execute(body, requestId, {
        onCache: (status) => {
          cache = status;
          res.setHeader('Cache-Status', cacheStatus(status));
        },
      });
      // A replayed answer keeps the timings of its first computation in the body; the header tells
      // what this request took.
      res.setHeader(
        'Server-Timing',
        cache === 'hit'
          ? `cache;desc=hit, total;dur=${(performance.now() - started).toFixed(2)}`
          : serverTiming(response.timings),
      );
      return response;
    }
    return this.stream(body, requestId, res);
  }

  /** Server-sent events: `sources`, then `token` events, then `done` with the full response (or `error`). */
  private async stream(body: QueryBody, requestId: string, res: Response): Promise<void> {
    const send = (event: string, data: unknown) => res.write(sseFrame(event, data));
    // A client that goes away mid-answer cancels the model call upstream.
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    try {
      // The cache is consulted before anything else, so the stream opens at once, saying whether it
      // replays a cached answer.
      const response = await this.answer.execute(body, requestId, {
        onCache: (status) => {
          res.setHeader('Cache-Status', cacheStatus(status));
          openEventStream(res);
        },
        onSources: (sources) => send('sources', { sources }),
        onToken: (text) => send('token', { text }),
        signal: gone.signal,
      });
      send('done', response);
    } catch (error) {
      if (gone.signal.aborted) return;
      if (!res.headersSent) openEventStream(res);
      const e = toAppError(error);
      send('error', { error: { code: e.code, message: e.message, requestId } });
    } finally {
      res.end();
    }
  }
}

/**
 * RFC 9211 Cache-Status: whether the answer was served by the gateway's answer cache; `detail=fallback`
 * when a cached answer to the same question stood in for a model that failed.
 */
export function cacheStatus(status: AnswerCacheStatus): string {
  if (status === 'fallback') return 'ragnest; hit; detail=fallback';
  return status === 'hit' ? 'ragnest; hit' : `ragnest; fwd=${status}`;
}

export function serverTiming(t: QueryTimings): string {
  return [
    `understand;dur=${t.understandMs}`,
    `retrieve;dur=${t.retrieveMs}`,
    `rerank;dur=${t.rerankMs}`,
    `generate;dur=${t.generateMs}`,
    `present;dur=${t.presentMs}`,
    `total;dur=${t.totalMs}`,
  ].join(', ');
}
