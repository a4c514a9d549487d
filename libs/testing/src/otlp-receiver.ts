import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** OTLP's span kinds (the API's `SpanKind` plus one; 0 is unspecified). */
export const OtlpSpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

type AttributeValue = string | number | boolean | undefined;

/** One span as an OTLP exporter sent it, with the resource (the process) that sent it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Absent on a trace's root. */
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
  /** The sending process's resource attributes (`service.name`, `process.pid`...). */
  resource: Record<string, AttributeValue>;
}

interface OtlpKeyValue {
  key: string;
  value?: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}
interface OtlpJsonRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: OtlpKeyValue[];
        links?: { traceId: string; spanId: string }[];
      }[];
    }[];
  }[];
}

function attributesOf(list: OtlpKeyValue[] = []): Record<string, AttributeValue> {
  return Object.fromEntries(
    list.map(({ key, value = {} }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
        value.doubleValue ??
        value.boolValue,
    ]),
  );
}

/**
 * A real OTLP/HTTP trace receiver, for tests whose spans come from other processes: those processes
 * export to it as to a collector (`OTEL_EXPORTER_OTLP_ENDPOINT` = `url`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), and it keeps every span it is sent. The JSON encoding is
 * OTLP's own (hex ids, numeric kinds); any other body is refused with 415, so a process left on the
 * protobuf default fails loudly rather than exporting nothing.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.receive(req).then(
        (status) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(status === 200 ? '{}' : '{"error":"OTLP/HTTP JSON expected at POST /v1/traces"}');
        },
        () => {
          res.writeHead(400).end();
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The variables that make a ragnest process export its spans here, promptly. */
  exporterEnv(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
  }

  /** The spans of one trace received so far. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async receive(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/traces') return 404;
    if (!String(req.headers['content-type']).startsWith('application/json')) return 415;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJsonRequest;
    for (const { resource, scopeSpans = [] } of body.resourceSpans ?? []) {
      const sender = attributesOf(resource?.attributes);
      for (const { spans = [] } of scopeSpans) {
        for (const s of spans) {
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId && { parentSpanId: s.parentSpanId }),
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributesOf(s.attributes),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            resource: sender,
          });
        }
      }
    }
    return 200;
  }
}
