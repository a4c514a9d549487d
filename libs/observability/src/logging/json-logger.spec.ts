import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '#platform';
import { createRootLogger, JsonLogger } from './json-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

describe('JSON logger', () => {
  it('writes level, time, service, replica and context; the request id and trace id inside a request', () => {
    const { lines, destination } = capture();
    const log = new JsonLogger(
      createRootLogger({ level: 'log', format: 'json', service: 'gateway', destination }),
    );
    log.log('outside', 'Boot');
    RequestContext.run(
      {
        requestId: 'req-7',
        deadline: Date.now() + 1000,
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      () => log.warn('inside', 'AnswerQuery'),
    );
    log.debug('below the level', 'Boot');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', service: 'gateway', context: 'Boot', msg: 'outside' });
    expect(lines[0].replica).toEqual(expect.any(String));
    expect(Date.parse(lines[0].time as string)).not.toBeNaN();
    expect(lines[0]).not.toHaveProperty('requestId');
    expect(lines[1]).toMatchObject({
      level: 'warn',
      context: 'AnswerQuery',
      requestId: 'req-7',
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
  });

  it('masks secrets in messages and redacts secret and text fields in objects', () => {
    const { lines, destination } = capture();
    const root = createRootLogger({
      level: 'verbose',
      format: 'json',
      service: 'all',
      secrets: ['sk-live-123456', undefined],
      destination,
    });
    const log = new JsonLogger(root);
    log.error('connecting to postgres://app:hunter22@db:5432/rag failed', 'Database');
    log.warn('the model refused key sk-live-123456', 'Generation');
    root.info({ llm: { apiKey: 'sk-live-123456' }, password: 'p', query: 'what is my diagnosis' }, 'config');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('sk-live-123456');
    expect(text).not.toContain('diagnosis');
    expect(lines[0].msg).toBe('connecting to postgres://app:[REDACTED]@db:5432/rag failed');
    expect(lines[2]).toMatchObject({
      llm: { apiKey: '[Redacted]' },
      password: '[Redacted]',
      query: '[Redacted]',
    });
  });

  it('keeps an error given as the message, with its stack', () => {
    const { lines, destination } = capture();
    const log = new JsonLogger(
      createRootLogger({ level: 'log', format: 'json', service: 'all', destination }),
    );
    log.error(new Error('boom'), 'Worker');
    expect(lines[0]).toMatchObject({ level: 'error', context: 'Worker', msg: 'boom' });
    expect((lines[0].err as { stack: string }).stack).toContain('boom');
  });
});
