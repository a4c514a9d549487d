import { Logger } from '@nestjs/common';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  AppError,
  CollectionName,
  CollectionRef,
  DocumentId,
  DocumentRef,
  IngestDocumentsBody,
  QueryBody,
  SearchBody,
} from '#contracts';
import { toAppError, validate } from '#platform';
import { type Caller, RagOperations } from '../../application/rag-operations/rag-operations.js';
import { answerText, collectionsText, documentText, ingestText, searchText } from './mcp-text.js';

/** The version the MCP server reports to hosts; ragnest's own. */
const SERVER_INFO = { name: 'ragnest', version: '0.1.0' };

/**
 * Tool inputs are the HTTP bodies' contract schemas themselves (the SDK validates a call with them and
 * lists them as JSON Schema), so a tool and its REST twin accept and refuse exactly the same input.
 */
export const ToolInputs = {
  search: SearchBody,
  // A tool's result is one message: streaming is the REST API's and the OpenAI endpoint's.
  ask: QueryBody.omit({ stream: true }),
  listCollections: z.object({}).strict(),
  getDocument: DocumentRef,
  addDocuments: CollectionRef.extend(IngestDocumentsBody.shape).strict(),
};

const log = new Logger('Mcp');

const COLLECTION_URI = 'ragnest://collections/{collection}';
const DOCUMENT_URI = 'ragnest://collections/{collection}/documents/{id}';

/**
 * An MCP server over ragnest's use cases for one caller: the tools `search`, `ask`, `list_collections`,
 * `get_document`, `add_documents`, and collections and documents as resources. Stateless: the HTTP
 * transport makes one per request (with that request's caller), stdio one per process.
 */
export function createMcpServer(ops: RagOperations, caller: Caller): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      'ragnest answers questions from document collections with numbered citations. Call list_collections ' +
      'to see what exists, search for passages, ask for a cited answer, get_document for where a document stands.',
  });

  server.registerTool(
    'search',
    {
      title: 'Search a collection',
      description:
        'Hybrid (BM25 + vectors), dense or sparse search of a collection, best passages first, with an ' +
        'optional metadata filter ({"year":{"$gte":2020}}).',
      inputSchema: ToolInputs.search,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(async () => searchText(await ops.search(args, caller))),
  );

  server.registerTool(
    'ask',
    {
      title: 'Ask a collection',
      description:
        'An answer from the documents of a collection, which refers to its sources as [1], [2]; the sources ' +
        'are in `citations`. `history` carries earlier turns of a conversation.',
      inputSchema: ToolInputs.ask,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(async () => answerText(await ops.ask({ ...args, stream: false }, caller))),
  );

  server.registerTool(
    'list_collections',
    {
      title: 'List collections',
      description: 'The collections this caller may read, with their document and chunk counts.',
      inputSchema: ToolInputs.listCollections,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => run(async () => collectionsText(await ops.listCollections(caller))),
  );

  server.registerTool(
    'get_document',
    {
      title: 'Get a document',
      description:
        "A document's status (queued, processing, indexed, failed and why), title, metadata and chunks.",
      inputSchema: ToolInputs.getDocument,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(async () => documentText(await ops.getDocument(args, caller))),
  );

  server.registerTool(
    'add_documents',
    {
      title: 'Add documents',
      description:
        'Adds or replaces text documents in a collection (created on first use); they are indexed in the ' +
        'background: get_document tells when each is `indexed`. The same id with new text replaces the old version.',
      inputSchema: ToolInputs.addDocuments,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    ({ collection, documents }) =>
      run(async () => ingestText(await ops.addDocuments(collection, { documents }, caller))),
  );

  server.registerResource(
    'collection',
    new ResourceTemplate(COLLECTION_URI, {
      list: async () => ({
        resources: (await ops.listCollections(caller)).collections.map((c) => ({
          uri: collectionUri(c.name),
          name: c.name,
          description: `${c.documents} documents, ${c.chunks} chunks`,
          mimeType: 'application/json',
        })),
      }),
      complete: { collection: (value) => completeCollection(ops, caller, value) },
    }),
    {
      title: 'Collection',
      description: 'A collection: document counts, chunks, embedding model, re-index.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const collection = validate(CollectionName, decode(variables.collection), 'collection');
      return json(uri, await ops.getCollection({ collection }, caller));
    },
  );

  server.registerResource(
    'document',
    new ResourceTemplate(DOCUMENT_URI, {
      // Collections may hold millions of documents: they are read by URI, not listed.
      list: undefined,
      complete: { collection: (value) => completeCollection(ops, caller, value) },
    }),
    {
      title: 'Document',
      description: "A document's status, title, metadata and chunk count.",
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const collection = validate(CollectionName, decode(variables.collection), 'collection');
      const id = validate(DocumentId, decode(variables.id), 'document id');
      return json(uri, await ops.getDocument({ collection, id }, caller));
    },
  );

  return server;
}

export function collectionUri(name: string): string {
  return `ragnest://collections/${encodeURIComponent(name)}`;
}

export function documentUri(collection: string, id: string): string {
  return `${collectionUri(collection)}/documents/${encodeURIComponent(id)}`;
}

/**
 * A failed call is a tool error the model can read (code and message, as the REST API would give them),
 * not a protocol error: the model can correct its arguments and try again.
 */
async function run(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    const e = toAppError(error);
    if (e.status >= 500 && !(error instanceof AppError))
      log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return {
      isError: true,
      content: [{ type: 'text', text: `${e.code}: ${e.message}` }],
      structuredContent: {
        error: {
          code: e.code,
          message: e.message,
          ...(e.details !== undefined ? { details: e.details } : {}),
        },
      },
    };
  }
}

function json(uri: URL, value: unknown): ReadResourceResult {
  return {
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
  };
}

function decode(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value[0] : (value ?? '');
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

async function completeCollection(ops: RagOperations, caller: Caller, value: string): Promise<string[]> {
  const { collections } = await ops.listCollections(caller);
  return collections.map((c) => c.name).filter((n) => n.startsWith(value));
}
