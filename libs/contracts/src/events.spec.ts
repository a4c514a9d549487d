import { describe, expect, it } from 'vitest';
import {
  CollectionReindexed,
  decodeDomainEvent,
  DocumentDeleted,
  DocumentIngested,
  encodeDomainEvent,
} from './events.js';

describe('domain events on the wire', () => {
  it('round-trips each event to an instance of its class', () => {
    for (const [event, name] of [
      [new DocumentIngested('papers', ['p1', 'p2']), 'DocumentIngested'],
      [new DocumentDeleted('papers', 'p1'), 'DocumentDeleted'],
      [new CollectionReindexed('papers', 'text-embedding-3-small'), 'CollectionReindexed'],
    ] as const) {
      const wire = encodeDomainEvent(event, 'host-1')!;
      expect(JSON.parse(wire)).toEqual({ name, origin: 'host-1', data: { ...event } });
      const decoded = decodeDomainEvent(wire);
      expect(decoded).toEqual({ ok: true, origin: 'host-1', event });
      expect(decoded.ok && decoded.event).toBeInstanceOf(event.constructor);
    }
  });

  it('leaves other events to their process', () => {
    expect(encodeDomainEvent({ collection: 'papers' }, 'host-1')).toBeUndefined();
  });

  it('refuses to send an event with invalid fields', () => {
    expect(() => encodeDomainEvent(new DocumentDeleted('bad name!', 'p1'), 'host-1')).toThrow();
  });

  it('reports what is wrong with a malformed message, without throwing', () => {
    const cases = [
      'not json',
      'null',
      '[]',
      JSON.stringify({ name: 'Unknown', origin: 'h', data: {} }),
      JSON.stringify({ name: 'DocumentDeleted', origin: 'h', data: { collection: 'papers' } }),
      JSON.stringify({
        name: 'DocumentIngested',
        origin: '',
        data: { collection: 'papers', documentIds: [] },
      }),
      JSON.stringify({
        name: 'DocumentIngested',
        origin: 'h',
        data: { collection: 'a b', documentIds: ['x'] },
      }),
    ];
    for (const raw of cases) {
      const decoded = decodeDomainEvent(raw);
      expect(decoded.ok, raw).toBe(false);
      expect(!decoded.ok && decoded.error, raw).toBeTruthy();
    }
  });
});
