import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash, contentHashFraming } from './content-hash.js';

const base = { text: 'Hello world', title: 'Greeting', metadata: { lang: 'en', tags: ['a', 'b'] } };

describe('contentHash', () => {
  it('is a prefixed lowercase sha256 hex digest', () => {
    expect(contentHash(base)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is deterministic', () => {
    expect(contentHash(base)).toBe(contentHash({ ...base, metadata: { lang: 'en', tags: ['a', 'b'] } }));
  });

  it('ignores the key order of metadata, recursively', () => {
    const one = { a: 1, b: 2, nested: { x: [{ p: 1, q: 2 }], y: null } };
    const other = { nested: { y: null, x: [{ q: 2, p: 1 }] }, b: 2, a: 1 };
    expect(contentHash({ text: 't', metadata: { a: 1, b: 2 } })).toBe(
      contentHash({ text: 't', metadata: { b: 2, a: 1 } }),
    );
    expect(contentHash({ text: 't', metadata: one })).toBe(contentHash({ text: 't', metadata: other }));
  });

  it('changes with the text', () => {
    expect(contentHash({ ...base, text: 'Hello world!' })).not.toBe(contentHash(base));
  });

  it('changes with the bytes', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(contentHash({ bytes, metadata: {} })).not.toBe(
      contentHash({ bytes: new Uint8Array([1, 2, 4]), metadata: {} }),
    );
  });

  it('changes with the title, treating null and absent alike', () => {
    expect(contentHash({ ...base, title: 'Other' })).not.toBe(contentHash(base));
    expect(contentHash({ ...base, title: '' })).not.toBe(contentHash({ ...base, title: null }));
    expect(contentHash({ ...base, title: null })).toBe(
      contentHash({ text: base.text, metadata: base.metadata }),
    );
  });

  it('changes with any metadata value, key, nesting or array order', () => {
    const reference = contentHash(base);
    expect(contentHash({ ...base, metadata: { lang: 'fr', tags: ['a', 'b'] } })).not.toBe(reference);
    expect(contentHash({ ...base, metadata: { language: 'en', tags: ['a', 'b'] } })).not.toBe(reference);
    expect(contentHash({ ...base, metadata: { lang: 'en', tags: ['b', 'a'] } })).not.toBe(reference);
    expect(contentHash({ ...base, metadata: { lang: 'en', tags: ['a', 'b'], extra: true } })).not.toBe(
      reference,
    );
    expect(contentHash({ ...base, metadata: { lang: 'en', tags: { 0: 'a', 1: 'b' } } })).not.toBe(reference);
    expect(contentHash({ ...base, metadata: { lang: 'en', tags: ['a', 'b'], n: 1 } })).not.toBe(
      contentHash({ ...base, metadata: { lang: 'en', tags: ['a', 'b'], n: '1' } }),
    );
  });

  it('does not let content leak into another field', () => {
    // Without length prefixes these could encode to the same stream.
    expect(contentHash({ text: 'ab', title: 'c', metadata: {} })).not.toBe(
      contentHash({ text: 'a', title: 'bc', metadata: {} }),
    );
    expect(contentHash({ text: 'abc', metadata: {} })).not.toBe(
      contentHash({ bytes: new TextEncoder().encode('abc'), metadata: {} }),
    );
  });

  it('counts multi-byte characters by their UTF-8 length', () => {
    expect(contentHash({ text: 'é', title: 'x', metadata: {} })).not.toBe(
      contentHash({ text: 'éx', metadata: {} }),
    );
    expect(contentHash({ text: '日本語', metadata: {} })).toBe(contentHash({ text: '日本語', metadata: {} }));
  });

  it('follows JSON semantics for metadata: undefined members are left out, dates are ISO strings', () => {
    expect(contentHash({ text: 't', metadata: { a: 1, b: undefined } })).toBe(
      contentHash({ text: 't', metadata: { a: 1 } }),
    );
    const when = new Date('2024-05-01T12:00:00.000Z');
    expect(contentHash({ text: 't', metadata: { when } })).toBe(
      contentHash({ text: 't', metadata: { when: '2024-05-01T12:00:00.000Z' } }),
    );
  });

  it('treats a "__proto__" metadata key as ordinary data', () => {
    const withProto = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as Record<string, unknown>;
    const withOther = JSON.parse('{"__proto__": {"x": 2}, "a": 1}') as Record<string, unknown>;
    expect(contentHash({ text: 't', metadata: withProto })).not.toBe(
      contentHash({ text: 't', metadata: withOther }),
    );
    expect(contentHash({ text: 't', metadata: withProto })).not.toBe(
      contentHash({ text: 't', metadata: { a: 1 } }),
    );
  });

  it('hashes the documented encoding', () => {
    // Pins the encoding: changing it changes every stored hash and re-ingests every document.
    const expected = createHash('sha256')
      .update('v:1:1text:2:hititle:1:Tmetadata:13:{"a":1,"b":2}')
      .digest('hex');
    expect(contentHash({ text: 'hi', title: 'T', metadata: { b: 2, a: 1 } })).toBe(`sha256:${expected}`);
  });

  it('requires the text or the bytes', () => {
    expect(() => contentHash({ metadata: {} })).toThrow(/text or the bytes/);
  });
});

describe('contentHashFraming', () => {
  it.each([
    { title: 'Report ü', metadata: { b: 1, a: ['x'] } },
    { title: null, metadata: {} },
    { metadata: { filename: 'é.pdf' } },
  ])('frames bytes so that sha256(head, bytes, tail) is the content hash (%j)', (parts) => {
    const bytes = Buffer.from([0, 1, 2, 255, 0x20, 0xc3]);
    const { head, tail } = contentHashFraming({ ...parts, byteLength: bytes.byteLength });
    const framed = createHash('sha256').update(head).update(bytes).update(tail).digest('hex');
    expect(`sha256:${framed}`).toBe(contentHash({ ...parts, bytes }));
  });
});
