import { z } from 'zod';
import { CollectionName } from './dto/index.js';

/**
 * Domain events: facts a context announces once they have happened, for any process to react to (the
 * gateway's answer cache, for one). Each has a wire name of its own (`eventName`), independent of the
 * class name, so processes of different builds agree on what they exchange.
 */

/** New versions of these documents (external ids) are searchable: they were indexed and committed. */
export class DocumentIngested {
  static readonly eventName = 'DocumentIngested';
  constructor(
    readonly collection: string,
    readonly documentIds: string[],
  ) {}
}

/** The document (external id) and everything indexed from it are gone. */
export class DocumentDeleted {
  static readonly eventName = 'DocumentDeleted';
  constructor(
    readonly collection: string,
    readonly documentId: string,
  ) {}
}

/** The collection is now searched through the embeddings of another model. */
export class CollectionReindexed {
  static readonly eventName = 'CollectionReindexed';
  constructor(
    readonly collection: string,
    readonly model: string,
  ) {}
}

/** The collection and everything in it are gone (a name used again later is a new collection). */
export class CollectionDeleted {
  static readonly eventName = 'CollectionDeleted';
  constructor(readonly collection: string) {}
}

export type DomainEvent = DocumentIngested | DocumentDeleted | CollectionReindexed | CollectionDeleted;

/* ---------- the wire form: {"name","origin","data"} as JSON ---------- */

const ExternalId = z.string().min(1).max(512);
/** The publishing process, so that it can recognise (and skip) its own events when they come back. */
const Origin = z.string().min(1).max(256);

// Unknown fields in `data` are ignored rather than refused, so a newer publisher can add some.
const DocumentIngestedData = z.object({
  collection: CollectionName,
  documentIds: z.array(ExternalId).max(100_000),
});
const DocumentDeletedData = z.object({ collection: CollectionName, documentId: ExternalId });
const CollectionReindexedData = z.object({ collection: CollectionName, model: z.string().min(1).max(512) });
const CollectionDeletedData = z.object({ collection: CollectionName });

export const DomainEventMessage = z.discriminatedUnion('name', [
  z.object({ name: z.literal(DocumentIngested.eventName), origin: Origin, data: DocumentIngestedData }),
  z.object({ name: z.literal(DocumentDeleted.eventName), origin: Origin, data: DocumentDeletedData }),
  z.object({
    name: z.literal(CollectionReindexed.eventName),
    origin: Origin,
    data: CollectionReindexedData,
  }),
  z.object({ name: z.literal(CollectionDeleted.eventName), origin: Origin, data: CollectionDeletedData }),
]);
export type DomainEventMessage = z.infer<typeof DomainEventMessage>;

/**
 * The wire form of a domain event published by `origin`, or undefined for any other event (those stay
 * in their process). A domain event with invalid fields throws, so the mistake shows where it was made.
 */
export function encodeDomainEvent(event: object, origin: string): string | undefined {
  let message: DomainEventMessage;
  if (event instanceof DocumentIngested) {
    message = { name: DocumentIngested.eventName, origin, data: DocumentIngestedData.parse({ ...event }) };
  } else if (event instanceof DocumentDeleted) {
    message = { name: DocumentDeleted.eventName, origin, data: DocumentDeletedData.parse({ ...event }) };
  } else if (event instanceof CollectionReindexed) {
    message = {
      name: CollectionReindexed.eventName,
      origin,
      data: CollectionReindexedData.parse({ ...event }),
    };
  } else if (event instanceof CollectionDeleted) {
    message = { name: CollectionDeleted.eventName, origin, data: CollectionDeletedData.parse({ ...event }) };
  } else {
    return undefined;
  }
  return JSON.stringify(message);
}

export type DecodedDomainEvent =
  { ok: true; origin: string; event: DomainEvent } | { ok: false; error: string };

/** Checks a message from the wire and rebuilds its event; never throws, whatever arrives. */
export function decodeDomainEvent(raw: string): DecodedDomainEvent {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = DomainEventMessage.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    return { ok: false, error: issues.join('; ') };
  }
  const m = parsed.data;
  switch (m.name) {
    case DocumentIngested.eventName:
      return {
        ok: true,
        origin: m.origin,
        event: new DocumentIngested(m.data.collection, m.data.documentIds),
      };
    case DocumentDeleted.eventName:
      return { ok: true, origin: m.origin, event: new DocumentDeleted(m.data.collection, m.data.documentId) };
    case CollectionReindexed.eventName:
      return { ok: true, origin: m.origin, event: new CollectionReindexed(m.data.collection, m.data.model) };
    case CollectionDeleted.eventName:
      return { ok: true, origin: m.origin, event: new CollectionDeleted(m.data.collection) };
  }
}
