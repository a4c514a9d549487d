import { hostname } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { RequestContext } from '#platform';
import { Tracing, traceIdOf } from '../tracing/tracing.js';

/** How log lines are written: one JSON object a line (the default), or coloured text for a terminal. */
export type LogFormat = 'json' | 'pretty';
export type AppLogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

/** Nest's level names to pino's. */
const PINO_LEVEL: Record<AppLogLevel, LevelWithSilent> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Keys whose values never reach a log line, at any depth pino's paths reach (secrets, and the texts of
 * documents and queries, which are the users' data). A value logged under one of them reads [Redacted].
 */
const SECRET_KEYS = [
  'apiKey',
  'password',
  'authorization',
  'cookie',
  'x-api-key',
  'databaseUrl',
  'query',
  'text',
  'sourceText',
];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [`["${k}"]`, `*["${k}"]`, `*.*["${k}"]`]);

export interface RootLoggerOptions {
  level: AppLogLevel;
  format: LogFormat;
  /** What this process hosts (`gateway`, `retrieval`, `all`...), on every line. */
  service: string;
  /** Strings that must never appear in a line (model keys, the database password): replaced by [REDACTED]. */
  secrets?: (string | undefined)[];
  /** Where lines go (tests); standard output by default. */
  destination?: NodeJS.WritableStream;
}

/**
 * The process's root logger. Every line has level, time, service and replica; a line written while a
 * request or a job is served also has its requestId and traceId (from the request context, so a line
 * logged deep in a use case is tied to the request without being handed anything).
 */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => !!s && s.length >= 4);
  const scrub = (text: string) => {
    let out = text.replace(/(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[REDACTED]@');
    for (const s of secrets) out = out.split(s).join('[REDACTED]');
    return out;
  };
  const stream =
    options.format === 'pretty'
      ? pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 1 })
      : (options.destination ?? pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: PINO_LEVEL[options.level],
      base: { service: options.service, replica: hostname(), pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      hooks: {
        // Messages are free text: secrets are masked in them too (an error quoting a connection URL).
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      mixin() {
        const meta = RequestContext.current();
        const traceId = Tracing.activeTraceId() ?? traceIdOf(meta?.traceparent);
        return {
          ...(meta && { requestId: meta.requestId }),
          ...(traceId && { traceId }),
        };
      },
    },
    stream,
  );
}

/**
 * Nest's LoggerService over pino: `new Logger('Context').log(...)` anywhere writes a JSON line whose
 * `context` is the logger's name. Nest passes the context as the last string argument, and an error's
 * stack before it.
 */
export class JsonLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace',
    message: unknown,
    params: unknown[],
  ) {
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = rest.length > 0 && typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, message.message);
      return;
    }
    // error(message, stack, context): the stack as Nest hands it.
    if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n    at '))
      fields.stack = rest[0];
    if (typeof message === 'string') this.pino[level](fields, message);
    else this.pino[level]({ ...fields, data: message }, '');
  }
}
