import { describe, expect, it } from 'vitest';
import {
  decodeDocumentCursor,
  DocumentCursor,
  encodeDocumentCursor,
  JobId,
  ListDocumentsQuery,
} from './index.js';

/** The schemas of the ingestion listing and job endpoints: what a query string or a job id may be. */
describe('ListDocumentsQuery', () => {
  const issues = (query: unknown) => {
    const r = ListDocumentsQuery.safeParse(query);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };

  it('defaults the limit and parses the query string values', () => {
    expect(ListDocumentsQuery.parse({})).toEqual({ limit: 50 });
    expect(ListDocumentsQuery.parse({ status: 'failed', limit: '500' })).toEqual({
      status: 'failed',
      limit: 500,
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ limit: '' }, 'limit'],
    [{ limit: '9'.repeat(400) }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ status: 'done' }, 'status'],
    [{ cursor: '' }, 'cursor'],
    [{ cursor: 'not a cursor' }, 'cursor'],
    [{ cursor: encodeDocumentCursor('a').slice(0, -1) + '_' }, 'cursor'],
    [{ sort: 'id' }, ''],
  ])('refuses %j, naming %j', (query, field) => {
    expect(issues(query)).toEqual([field]);
  });
});

describe('document cursors', () => {
  it.each(['a', 'report 2024.pdf', 'ünïcødé/path?x=1', '😀'.repeat(128)])('round-trip %s', (id) => {
    const cursor = encodeDocumentCursor(id);
    expect(DocumentCursor.safeParse(cursor).success).toBe(true);
    expect(decodeDocumentCursor(cursor)).toBe(id);
  });

  it('refuses bytes that are not UTF-8 and ids that could not exist', () => {
    expect(DocumentCursor.safeParse(Buffer.from([0xff, 0xfe]).toString('base64url')).success).toBe(false);
    expect(DocumentCursor.safeParse(encodeDocumentCursor('a\u0000b')).success).toBe(false);
    expect(DocumentCursor.safeParse(encodeDocumentCursor('x'.repeat(513))).success).toBe(false);
  });
});

describe('JobId', () => {
  it.each(['1:1', '42:7', '9223372036854775807:2147483647', '42:7:0123456789abcdef0123456789abcdef'])(
    'accepts %s',
    (id) => {
      expect(JobId.safeParse(id).success).toBe(true);
    },
  );

  it.each([
    '',
    '1',
    '0:1',
    '1:0',
    '01:1',
    '-1:1',
    '1:1:1',
    '1:1:0123456789ABCDEF0123456789ABCDEF',
    'a:1',
    '9223372036854775808:1',
    '1:2147483648',
  ])('refuses %j', (id) => {
    expect(JobId.safeParse(id).success).toBe(false);
  });
});
