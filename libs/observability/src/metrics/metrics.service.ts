import { collectDefaultMetrics, Registry } from 'prom-client';
import { DatabaseMetrics } from './database.metrics.js';
import { HttpMetrics } from './http.metrics.js';
import { IngestionMetrics } from './ingestion.metrics.js';
import { QueryMetrics } from './query.metrics.js';
import { TransportMetrics } from './transport.metrics.js';

/** Reads a gauge's source when /metrics is scraped (queue counts, pool, breakers). */
export type ScrapeCollector = () => void | Promise<void>;

/**
 * The port through which the code doing the work reports what it did: one registry per application,
 * the metric definitions in a file per concern, and nothing outside this folder imports prom-client.
 * Injected as `Metrics` (global, from PlatformModule); code built without Nest (unit specs) gets
 * `Metrics.detached()`, which records into a registry nobody scrapes.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly http: HttpMetrics;
  readonly query: QueryMetrics;
  readonly transport: TransportMetrics;
  readonly ingestion: IngestionMetrics;
  readonly database: DatabaseMetrics;
  private readonly collectors = new Set<ScrapeCollector>();
  private static unscraped?: Metrics;

  constructor(options: { collectionLabels?: boolean; processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.http = new HttpMetrics(this.registry);
    this.query = new QueryMetrics(this.registry);
    this.transport = new TransportMetrics(this.registry);
    this.ingestion = new IngestionMetrics(this.registry, options.collectionLabels ?? false);
    this.database = new DatabaseMetrics(this.registry);
  }

  static detached(): Metrics {
    return (Metrics.unscraped ??= new Metrics());
  }

  /** Adds a collector run before each scrape; returns its removal (for a provider's shutdown). */
  onScrape(collector: ScrapeCollector): () => void {
    this.collectors.add(collector);
    return () => this.collectors.delete(collector);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; a collector that fails leaves its gauges as they were, the scrape goes on. */
  async scrape(): Promise<string> {
    await Promise.allSettled([...this.collectors].map(async (collect) => collect()));
    return this.registry.metrics();
  }
}

/** Seconds since `started` (a performance.now() reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
