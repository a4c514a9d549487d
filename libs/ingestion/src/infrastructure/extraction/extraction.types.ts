/** Owns the vocabulary shared by the file extractors: which kinds of file exist and what they yield. */
import type { SourceKind } from '#contracts';

/** A source that arrives as a file's bytes; `text` sources arrive as text and need no extraction. */
export type FileKind = Exclude<SourceKind, 'text'>;

export interface ExtractedText {
  /** Normalized text, ready for chunking (markdown stays markdown). */
  text: string;
  /** The title the file gives itself, if any. */
  title?: string;
}
