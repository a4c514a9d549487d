import { describe, expect, it } from 'vitest';
import { redisStreamsKeys } from './redis-streams.keys.js';
import { contextOfPattern, fieldMap, messageOf, parseEnvelope } from './redis-streams.wire.js';

/** The pure pieces of the streams transport: key names and the parsing of what comes off the wire. */
describe('redis streams wire format', () => {
  it('names every key and channel under the prefix', () => {
    const keys = redisStreamsKeys('test');
    expect(keys.requests('retrieval')).toBe('test:req:retrieval');
    expect(keys.events).toBe('test:events');
    expect(keys.replicas('retrieval')).toBe('test:replicas:retrieval');
    expect(keys.replyChannel('caller-1')).toBe('test:reply:caller-1');
    expect(redisStreamsKeys().requests('generation')).toBe('ragnest:req:generation');
  });

  it('reads the target context from the pattern prefix', () => {
    expect(contextOfPattern('retrieval.search')).toBe('retrieval');
    expect(contextOfPattern('query-understanding.understand')).toBe('query-understanding');
    expect(contextOfPattern('search')).toBeUndefined();
    expect(contextOfPattern('.search')).toBeUndefined();
  });

  it('turns a flat field list into a record', () => {
    expect(fieldMap(['pattern', 'a.b', 'deadline', '42'])).toEqual({ pattern: 'a.b', deadline: '42' });
    expect(fieldMap(['dangling'])).toEqual({});
  });

  it('accepts only JSON of an envelope as data', () => {
    const envelope = { meta: { requestId: 'r1', deadline: 1 }, payload: { q: 'x' } };
    expect(parseEnvelope(JSON.stringify(envelope))).toEqual(envelope);
    expect(parseEnvelope('{"payload":{}}')).toBeUndefined();
    expect(parseEnvelope('not json')).toBeUndefined();
    expect(parseEnvelope(undefined)).toBeUndefined();
  });

  it('describes any thrown value', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf({ status: 'error', message: 'Internal server error' })).toBe('Internal server error');
    expect(messageOf('plain')).toBe('plain');
  });
});
