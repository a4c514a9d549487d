import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CollectionList, DocumentView, IngestResponse, QueryResponse, SearchResponse } from '#contracts';

/**
 * Tool results: the response as `structuredContent` (the same JSON the REST API returns) and a text
 * rendering of it for hosts and models that read only text, with the sources numbered as the answer
 * cites them.
 */

const EXCERPT_CHARS = 600;

function result(text: string, structured: object): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured as Record<string, unknown> };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

export function searchText(response: SearchResponse): CallToolResult {
  const lines = response.results.map(
    (hit, i) =>
      `[${i + 1}] ${hit.title ?? hit.documentId} (document ${hit.documentId}, score ${hit.score.toFixed(4)})\n` +
      excerpt(hit.text),
  );
  return result(lines.length > 0 ? lines.join('\n\n') : 'No passage matched.', response);
}

export function answerText(response: QueryResponse): CallToolResult {
  const sources = response.citations.map(
    (c) => `[${c.index}] ${c.title ?? c.documentId} (document ${c.documentId}): ${excerpt(c.text)}`,
  );
  const text =
    response.answer +
    (sources.length > 0 ? `\n\nSources:\n${sources.join('\n')}` : '') +
    (response.degraded.length > 0 ? `\n\n(degraded: ${response.degraded.join(', ')})` : '');
  // The REST response but its timings, which say nothing to a model.
  const { timings: _timings, ...structured } = response;
  return result(text, structured);
}

export function collectionsText(list: CollectionList): CallToolResult {
  const lines = list.collections.map((c) => `${c.name}: ${c.documents} documents, ${c.chunks} chunks`);
  return result(lines.length > 0 ? lines.join('\n') : 'There are no collections yet.', list);
}

export function documentText(view: DocumentView): CallToolResult {
  const text =
    `${view.title ?? view.id} (document ${view.id}): ${view.status}` +
    (view.error ? ` (${view.error})` : '') +
    `, ${view.chunkCount} chunks, version ${view.version}, updated ${view.updatedAt}` +
    (Object.keys(view.metadata).length > 0 ? `\nmetadata: ${JSON.stringify(view.metadata)}` : '');
  return result(text, view);
}

export function ingestText(response: IngestResponse): CallToolResult {
  const lines = response.documents.map((d) => `${d.id}: ${d.status}`);
  return result(
    `${lines.join('\n')}\n\nQueued documents are indexed in the background; get_document tells when.`,
    response,
  );
}
