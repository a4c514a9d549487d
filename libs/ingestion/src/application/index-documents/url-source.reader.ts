/**
 * Owns reading a `url` document in the ingestion worker: the page is fetched (url.fetcher.ts bounds and
 * guards it) and read by the extractor its media type (or its path's extension) names, so an HTML page
 * goes through the HTML extractor like an uploaded one. A sitemap instead queues its pages as documents
 * of their own, each named by its URL and versioned by its lastmod, up to URL_INGEST_SITEMAP_MAX_URLS.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type AppConfig, CONFIG } from '#platform';
import type { IngestItem, Metadata } from '#contracts';
import type { DocumentSource } from '../../domain/document-job.js';
import { UnsupportedFileError } from '../../infrastructure/extraction/extraction.errors.js';
import type { ExtractedText, FileKind } from '../../infrastructure/extraction/extraction.types.js';
import { detectFileKind } from '../../infrastructure/extraction/file-kind.detector.js';
import { decodeText } from '../../infrastructure/extraction/text.decoder.js';
import { extractText } from '../../infrastructure/extraction/text.extractor.js';
import { parseSitemap, type SitemapEntry } from '../../infrastructure/url/sitemap.parser.js';
import { fetchUrl, UrlFetchError } from '../../infrastructure/url/url.fetcher.js';
import { IngestDocumentsUseCase } from '../ingest-documents/ingest-documents.use-case.js';

const XML_TYPES = new Set(['application/xml', 'text/xml']);
/** The longest document id (DocumentId): a page URL past it cannot name its document. */
const MAX_ID = 512;
const BATCH = 500;

@Injectable()
export class UrlSourceReader {
  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly modules: ModuleRef,
  ) {}

  async read(source: DocumentSource): Promise<ExtractedText> {
    const url = source.sourceText ?? '';
    const fetched = await fetchUrl(url, this.config.urlIngest, (mediaType, at) => {
      return isXml(mediaType, at) || kindOf(at, mediaType) !== undefined;
    });
    const at = new URL(fetched.url);
    if (isXml(fetched.mediaType, at) && kindOf(at, fetched.mediaType) === undefined) {
      const sitemap = parseSitemap(decodeText(fetched.bytes));
      if (!sitemap)
        throw new UrlFetchError(
          fetched.url,
          'an XML document that is not a sitemap (urlset or sitemapindex)',
        );
      return this.queuePages(source, fetched.url, sitemap.kind, sitemap.entries);
    }
    const content = await extractText(kindOf(at, fetched.mediaType)!, fetched.bytes);
    return { ...content, metadata: { ...content.metadata, url: fetched.url } };
  }

  private async queuePages(
    source: DocumentSource,
    sitemapUrl: string,
    kind: 'urlset' | 'sitemapindex',
    entries: SitemapEntry[],
  ): Promise<ExtractedText> {
    const seen = new Set([source.sourceText, sitemapUrl]);
    const pages = entries.filter((e) => {
      if (seen.has(e.url) || e.url.length > MAX_ID) return false;
      seen.add(e.url);
      return true;
    });
    const queued = pages.slice(0, this.config.urlIngest.sitemapMaxUrls);
    // Resolved at run time: ingesting queues jobs, and the queue runs this use case's caller.
    const ingest = this.modules.get(IngestDocumentsUseCase, { strict: false });
    const { sitemap: _parent, url: _url, ...inherited } = source.metadata;
    for (let i = 0; i < queued.length; i += BATCH) {
      const documents: IngestItem[] = queued.slice(i, i + BATCH).map((e) => ({
        id: e.url,
        url: e.url,
        // Without a lastmod, listing the page again leaves it as it is (and a sitemap that lists
        // itself, or two that list each other, cannot queue each other forever).
        lastModified: e.lastmod ?? 'listed',
        metadata: { ...inherited, sitemap: sitemapUrl },
      }));
      await ingest.execute({ collection: source.collection, documents });
    }
    const metadata: Metadata = { url: sitemapUrl, sitemap: kind, pages: queued.length };
    if (pages.length > queued.length) metadata.pagesLeftOut = pages.length - queued.length;
    return { text: '', metadata, sitemap: { pages: queued.length } };
  }
}

function isXml(mediaType: string, url: URL): boolean {
  return (
    XML_TYPES.has(mediaType) || mediaType.endsWith('+xml') || url.pathname.toLowerCase().endsWith('.xml')
  );
}

/** The kind of file the response is, by its path's extension then its media type; undefined if none. */
function kindOf(url: URL, mediaType: string): FileKind | undefined {
  const segment = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  let name: string;
  try {
    name = decodeURIComponent(segment) || 'index';
  } catch {
    name = segment;
  }
  try {
    return detectFileKind(name, mediaType || undefined);
  } catch (error) {
    if (error instanceof UnsupportedFileError) return undefined;
    throw error;
  }
}
