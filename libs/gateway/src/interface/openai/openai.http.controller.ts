import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, ChatCompletionBody, type Principal, type QueryBody } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { type Caller, RagOperations } from '../../application/rag-operations/rag-operations.js';
import { openEventStream } from '../sse.js';
import { collectionOfModel, modelNotFound, toQueryBody } from './chat-request.js';
import { chatChunk, chatCompletion, completionIdentity, dataFrame } from './chat-response.js';
import { toOpenAiError } from './openai-error.js';

type CallerRequest = Request & { requestId?: string; principal?: Principal };

/**
 * OpenAI's chat API over ragnest, for chat front ends and OpenAI SDKs (base URL `<ragnest>/v1`, the
 * ragnest key as the API key): the model names a collection, the conversation is the question and its
 * history, and the answer comes back as a chat completion, or streamed as `chat.completion.chunk`
 * events ending with `data: [DONE]`. Errors under /v1/ are in OpenAI's shape, not ragnest's (see
 * GatewayModule).
 */
@Controller('v1')
export class OpenAiHttpController {
  constructor(private readonly ops: RagOperations) {}

  /** Every collection, as a model. */
  @Get('models')
  async models(@Req() req: CallerRequest) {
    const { collections } = await this.ops.listCollections(caller(req));
    return {
      object: 'list',
      data: collections.map((c) => ({ id: c.name, object: 'model', created: 0, owned_by: 'ragnest' })),
    };
  }

  @Get('models/:model')
  async model(@Req() req: CallerRequest) {
    const model = String(req.params.model);
    const collection = await this.requireCollection(model, caller(req));
    return { id: collection, object: 'model', created: 0, owned_by: 'ragnest' };
  }

  @Post('chat/completions')
  @HttpCode(200)
  async chatCompletions(
    @Body(new ZodValidationPipe(ChatCompletionBody)) body: ChatCompletionBody,
    @Req() req: CallerRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    const who = caller(req);
    const collection = await this.requireCollection(body.model, who);
    const query = toQueryBody(collection, body, body.stream === true);
    const identity = completionIdentity(body.model);
    if (!query.stream) return chatCompletion(identity, await this.ops.ask(query, who));
    await this.stream(query, who, identity, res);
  }

  /**
   * The stream opens once the sources are found, so a failure before (an unknown collection, retrieval
   * down) is a plain error response with its status; after, it is an `error` object in the stream.
   */
  private async stream(
    query: QueryBody,
    who: Caller,
    identity: ReturnType<typeof completionIdentity>,
    res: Response,
  ): Promise<void> {
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    const send = (data: unknown) => {
      if (!res.writableEnded) res.write(dataFrame(data));
    };
    try {
      const response = await this.ops.ask(query, who, {
        onSources: () => {
          if (res.headersSent) return;
          openEventStream(res);
          send(chatChunk(identity, { role: 'assistant', content: '' }));
        },
        onToken: (text) => send(chatChunk(identity, { content: text })),
        signal: gone.signal,
      });
      send(chatChunk(identity, {}, response));
      send('[DONE]');
      res.end();
    } catch (error) {
      if (gone.signal.aborted) return;
      if (!res.headersSent) throw error;
      send(toOpenAiError(error));
      res.end();
    }
  }

  private async requireCollection(model: string, who: Caller): Promise<string> {
    const collection = collectionOfModel(model);
    try {
      await this.ops.getCollection({ collection }, who);
    } catch (error) {
      if (error instanceof AppError && error.status === 404) throw modelNotFound(model);
      throw error;
    }
    return collection;
  }
}

function caller(req: CallerRequest): Caller {
  return { requestId: req.requestId ?? '', principal: req.principal };
}
