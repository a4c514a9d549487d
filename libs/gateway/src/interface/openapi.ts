import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ChatCompletionBody, IngestDocumentsBody, IngestUrlBody, QueryBody, SearchBody } from '#contracts';
import { CreateKeyBody } from '../application/api-keys/api-keys.service.js';

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
  'post /rag/collections/{collection}/documents': {
    oneOf: [jsonSchema(IngestDocumentsBody), jsonSchema(IngestUrlBody)],
  },
  'post /rag/keys': jsonSchema(CreateKeyBody),
  'post /v1/chat/completions': jsonSchema(ChatCompletionBody),
};

/** The API surfaces AuthMiddleware guards; health and docs stay open. */
const GUARDED = /^\/(rag|v1|mcp)(\/|$)/;
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function buildOpenApi(
  app: INestApplication,
  { DocumentBuilder, SwaggerModule }: typeof import('@nestjs/swagger'),
): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ragnest')
    .setDescription('Retrieval-Augmented Generation: put documents in, get answers with numbered citations.')
    .setVersion('0.1.0')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key, `rn_<id>_<secret>` (ragnest keys create). Needed once any key exists; while none ' +
          'does, only loopback clients are served without one.',
      },
      'bearer',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...(document.components?.schemas ?? {}), Error: ERROR },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item) as [
      string,
      { requestBody?: unknown; responses?: Record<string, unknown>; security?: unknown },
    ][]) {
      if (GUARDED.test(path)) {
        op.security = [{ bearer: [] }];
        op.responses = {
          ...(op.responses ?? {}),
          '401': errorResponse('no API key, or an invalid or revoked one (WWW-Authenticate: Bearer)'),
          '403': errorResponse(
            "the key's scopes do not cover this; or no key exists and the client is not local",
          ),
        };
      }
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

/** The paths of the docs: the UI at /docs, its assets under it, and /docs/openapi.json. */
const DOCS = /^\/docs(\/|$)/;

/**
 * Serves the OpenAPI document and its UI at /docs, set up on the first request for them: @nestjs/swagger is
 * the largest package the server would otherwise load at start (11.1 MB of heap, imported alone) for a page
 * few processes ever serve. SwaggerModule mounts its routes on an Express app of its own, which only /docs
 * paths reach (a path under /docs it does not serve goes on to the API's 404, as before).
 */
export function mountOpenApi(app: INestApplication): void {
  const docs = new ExpressAdapter();
  const handle = docs.getInstance<(req: Request, res: Response, next: NextFunction) => void>();
  docs.disable('x-powered-by');
  docs.set('etag', false);
  let ready: Promise<void> | undefined;
  (app as NestExpressApplication).use((req: Request, res: Response, next: NextFunction) => {
    if (!DOCS.test(req.path)) return next();
    ready ??= import('@nestjs/swagger').then((swagger) => {
      // SwaggerModule needs of an application only its HTTP adapter and static assets: the docs app's.
      const host = {
        getHttpAdapter: () => docs,
        useStaticAssets: (path: string, options: object) => docs.useStaticAssets(path, options),
      };
      swagger.SwaggerModule.setup('docs', host as unknown as INestApplication, buildOpenApi(app, swagger), {
        jsonDocumentUrl: 'docs/openapi.json',
        raw: ['json'],
      });
    });
    // An Express app handling a request takes it over (its request and response prototypes): given back
    // when the request goes on, as Express does for an app mounted in another.
    const [request, response] = [Object.getPrototypeOf(req), Object.getPrototypeOf(res)];
    ready.then(
      () =>
        handle(req, res, (error?: unknown) => {
          Object.setPrototypeOf(req, request);
          Object.setPrototypeOf(res, response);
          next(error);
        }),
      next,
    );
  });
}
