/** Owns the vocabulary shared by the file extractors: which kinds of file exist and what they yield. */
import type { Metadata, SourceKind } from '#contracts';

/** A source that arrives as a file's bytes; `text` and `url` sources arrive as text. */
export type FileKind = Exclude<SourceKind, 'text' | 'url'>;

/** Prose of one part of a file (a slide), chunked on its own. */
export interface ProseSection {
  kind: 'prose';
  text: string;
  /** Carried by each of the section's chunks (the slide number), under the document's metadata. */
  metadata: Metadata;
}

/** Rows of one table (a sheet, a CSV file): chunked as row groups, each led by the header row. */
export interface TableSection {
  kind: 'table';
  header: string;
  /** Each row as one line, with its 1-based row number in the file or sheet. */
  rows: { line: string; number: number }[];
  metadata: Metadata;
}

export type ExtractedSection = ProseSection | TableSection;

export interface ExtractedText {
  /** Normalized text, ready for chunking (markdown stays markdown); with sections, all of them. */
  text: string;
  /** The title the file gives itself, if any. */
  title?: string;
  /** What the file says about itself (author, created, sheet names); the client's metadata wins. */
  metadata?: Metadata;
  /** The file's own parts, each chunked apart (a slide, a sheet's rows); `text` is then not chunked. */
  sections?: ExtractedSection[];
  /** A fetched sitemap: its pages were queued as documents of their own, and it has no text itself. */
  sitemap?: { pages: number };
}
