import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ChatCompletionBody, IngestDocumentsBody, QueryBody, SearchBody } from '#contracts';

/**
 * The OpenAPI document, built from the routes Nest knows and the same zod schemas that validate the
 * bodies, so the document cannot drift from what the server accepts.
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

const ERROR = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', example: 'GATEWAY.VALIDATION_FAILED' },
        message: { type: 'string' },
        requestId: { type: 'string' },
      },
    },
  },
};

const BODIES: Record<string, Record<string, unknown>> = {
  'post /rag/search': jsonSchema(SearchBody),
  'post /rag/query': jsonSchema(QueryBody),
  'post /rag/collections/{collection}/documents': jsonSchema(IngestDocumentsBody),
  'post /v1/chat/completions': jsonSchema(ChatCompletionBody),
};

export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ragnest')
    .setDescription('Retrieval-Augmented Generation: put documents in, get answers with numbered citations.')
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...(document.components?.schemas ?? {}), Error: ERROR },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item) as [
      string,
      { requestBody?: unknown; responses?: Record<string, unknown> },
    ][]) {
      const body = BODIES[`${method} ${path}`];
      if (body) {
        const content: Record<string, unknown> = { 'application/json': { schema: body } };
        if (path.endsWith('/documents')) {
          content['multipart/form-data'] = {
            schema: {
              type: 'object',
              properties: {
                files: { type: 'array', items: { type: 'string', format: 'binary' } },
                metadata: { type: 'string', description: 'JSON object' },
              },
              required: ['files'],
            },
          };
        }
        op.requestBody = { required: true, content };
      }
      op.responses = {
        ...(op.responses ?? {}),
        '4XX': {
          description: 'invalid input, unknown collection or document, size limit',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        '503': {
          description: 'a needed dependency is down (Retry-After)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      };
    }
  }
  return document;
}

export function mountOpenApi(app: INestApplication): void {
  const document = buildOpenApi(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', raw: ['json'] });
}
