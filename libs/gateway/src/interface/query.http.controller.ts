import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryBody, type QueryResponse, type QueryTimings } from '#contracts';
import { toAppError, ZodValidationPipe } from '#platform';
import { AnswerQueryHandler } from '../application/answer-query/answer-query.query-handler.js';
import { openEventStream, sseFrame } from './sse.js';

@Controller('rag')
export class QueryHttpController {
  constructor(private readonly answer: AnswerQueryHandler) {}

  @Post('query')
  @HttpCode(200)
  async query(
    @Body(new ZodValidationPipe(QueryBody)) body: QueryBody,
    @Req() req: Request & { requestId?: string },
    @Res({ passthrough: true }) res: Response,
  ): Promise<QueryResponse | void> {
    const requestId = req.requestId ?? '';
    if (!body.stream) {
      const response = await this.answer.execute(body, requestId);
      res.setHeader('Server-Timing', serverTiming(response.timings));
      return response;
    }
    return this.stream(body, requestId, res);
  }

  /** Server-sent events: `sources`, then `token` events, then `done` with the full response (or `error`). */
  private async stream(body: QueryBody, requestId: string, res: Response): Promise<void> {
    openEventStream(res);
    const send = (event: string, data: unknown) => res.write(sseFrame(event, data));
    try {
      const response = await this.answer.execute(body, requestId, {
        onSources: (sources) => send('sources', { sources }),
      });
      for (const token of response.answer.match(/\S+\s*/g) ?? []) send('token', { text: token });
      send('done', response);
    } catch (error) {
      const e = toAppError(error);
      send('error', { error: { code: e.code, message: e.message, requestId } });
    } finally {
      res.end();
    }
  }
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
