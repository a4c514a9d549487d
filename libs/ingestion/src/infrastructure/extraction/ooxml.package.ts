/**
 * Owns opening an Office Open XML package (.docx, .pptx, .xlsx are zip files of XML parts) and reading
 * what every such package says about itself in docProps/core.xml: title, author, created. The package's
 * declared uncompressed size is bounded before any part is inflated, so a zip bomb fails cleanly.
 */
import JSZip from 'jszip';
import { XMLParser } from 'fast-xml-parser';
import type { Metadata } from '#contracts';
import { normalizeLabel } from '../../domain/normalization/text.normalizer.js';
import { UnreadableFileError } from './extraction.errors.js';

/** Far above any real document's XML, far below what would exhaust the process. */
export const MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024;

export interface OoxmlPackage {
  zip: JSZip;
  /** A part's text, or undefined when the package has no such part. */
  part(path: string): Promise<string | undefined>;
}

export async function openPackage(bytes: Uint8Array, label: string): Promise<OoxmlPackage> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes);
  } catch (error) {
    throw new UnreadableFileError(`The ${label} file cannot be read: it is not a valid zip package`, {
      cause: error,
    });
  }
  let total = 0;
  zip.forEach((_path, entry) => {
    // JSZip keeps the central directory's sizes on each entry; they are not part of its typed surface.
    total += (entry as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize ?? 0;
  });
  if (total > MAX_UNCOMPRESSED_BYTES)
    throw new UnreadableFileError(
      `The ${label} file unpacks to ${total} bytes, over the ${MAX_UNCOMPRESSED_BYTES}-byte limit`,
    );
  return {
    zip,
    part: async (path) => {
      const entry = zip.file(path);
      if (!entry) return undefined;
      try {
        return await entry.async('string');
      } catch (error) {
        throw new UnreadableFileError(`The ${label} file's ${path} cannot be unpacked`, { cause: error });
      }
    },
  };
}

export const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: false,
  // Text such as "007" or "1e5" stays text.
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
});

export function parseXml(text: string, label: string, part: string): Record<string, unknown> {
  try {
    return xml.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new UnreadableFileError(`The ${label} file's ${part} is not well-formed XML`, { cause: error });
  }
}

export interface CoreProperties {
  title?: string;
  metadata: Metadata;
}

/** Title, author (dc:creator) and created (as ISO 8601) from docProps/core.xml, those present. */
export async function coreProperties(pkg: OoxmlPackage, label: string): Promise<CoreProperties> {
  const text = await pkg.part('docProps/core.xml');
  if (text === undefined) return { metadata: {} };
  const root = parseXml(text, label, 'docProps/core.xml')['cp:coreProperties'] as
    Record<string, unknown> | undefined;
  const value = (key: string) => normalizeLabel(textOf(root?.[key]));
  const metadata: Metadata = {};
  const author = value('dc:creator');
  if (author !== undefined) metadata.author = author;
  const created = value('dcterms:created');
  const date = created === undefined ? undefined : new Date(created);
  if (date !== undefined && !Number.isNaN(date.getTime())) metadata.created = date.toISOString();
  const title = value('dc:title');
  return title === undefined ? { metadata } : { title, metadata };
}

/** An element's text whether the parser gave it as a string or as an object with attributes. */
export function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && '#text' in node) return textOf(node['#text']);
  return undefined;
}
