import { createHash } from 'node:crypto';
import type { IngestDocumentsBody, IngestItem, JsonDocument } from '#contracts';

export type JsonDocuments = IngestDocumentsBody;

/** JSON documents as ingestion takes them; shared by the REST upload and the MCP `add_documents` tool. */
export function toIngestItems(documents: JsonDocument[]): IngestItem[] {
  return documents.map((d) =>
    d.url !== undefined
      ? // A URL names its document, so posting it again makes a new version of the same one.
        { id: d.id ?? d.url, title: d.title, metadata: d.metadata ?? {}, url: d.url }
      : {
          // A document without an id is named by its text, so sending it again is `unchanged`.
          id: d.id ?? `sha256-${createHash('sha256').update(d.text!).digest('hex').slice(0, 32)}`,
          title: d.title,
          metadata: d.metadata ?? {},
          text: d.text,
        },
  );
}
