import { describe, expect, it } from 'vitest';
import { AppError, type Filter } from '#contracts';
import { INVALID_FILTER } from '../domain/retrieval.errors.js';
import { compileFilter } from './filter-sql.js';

/**
 * The filter compiler's output: the SQL shape and the bound parameters. What the SQL matches is checked
 * against PostgreSQL by the integration tests; here the point is the text and the binding.
 */

/** The only quoted literals the compiler may write itself; anything else in quotes came from the user. */
const OWN_LITERALS = new Set(["'null'", "'number'", "'string'"]);

function literalsOf(sql: string): string[] {
  return sql.match(/'[^']*'/g) ?? [];
}

describe('compileFilter', () => {
  describe('empty filter', () => {
    it('compiles undefined to TRUE with no params', () => {
      expect(compileFilter(undefined, 1)).toEqual({ sql: 'TRUE', params: [] });
    });

    it('compiles {} to TRUE with no params', () => {
      expect(compileFilter({}, 4)).toEqual({ sql: 'TRUE', params: [] });
    });

    it('skips operators whose value is undefined', () => {
      expect(compileFilter({ lang: { $eq: undefined } }, 1)).toEqual({ sql: 'TRUE', params: [] });
    });
  });

  describe('equality', () => {
    it('binds a plain string as containment of the value or of an array holding it', () => {
      expect(compileFilter({ lang: 'en' }, 1)).toEqual({
        sql: '(c.metadata @> ANY($1::jsonb[]))',
        params: [['{"lang":"en"}', '{"lang":["en"]}']],
      });
    });

    it('keeps numbers and booleans typed inside the containment documents', () => {
      expect(compileFilter({ year: 2024 }, 1).params).toEqual([['{"year":2024}', '{"year":[2024]}']]);
      expect(compileFilter({ draft: false }, 1).params).toEqual([['{"draft":false}', '{"draft":[false]}']]);
    });

    it('compiles $eq exactly like a plain value', () => {
      expect(compileFilter({ lang: { $eq: 'en' } }, 1)).toEqual(compileFilter({ lang: 'en' }, 1));
    });

    it('negates equality for $ne', () => {
      expect(compileFilter({ lang: { $ne: 'en' } }, 1)).toEqual({
        sql: 'NOT (c.metadata @> ANY($1::jsonb[]))',
        params: [['{"lang":"en"}', '{"lang":["en"]}']],
      });
    });

    it('compiles null equality to a missing field or a JSON null, binding the path once', () => {
      expect(compileFilter({ owner: null }, 1)).toEqual({
        sql: "((c.metadata #> $1::text[]) IS NULL OR (c.metadata #> $1::text[]) = 'null'::jsonb)",
        params: [['owner']],
      });
    });

    it('negates null equality for $ne: null', () => {
      expect(compileFilter({ owner: { $ne: null } }, 1)).toEqual({
        sql: "NOT ((c.metadata #> $1::text[]) IS NULL OR (c.metadata #> $1::text[]) = 'null'::jsonb)",
        params: [['owner']],
      });
    });
  });

  describe('$in / $nin', () => {
    it('binds every value as a pair of containment documents in one array', () => {
      expect(compileFilter({ lang: { $in: ['en', 'fr'] } }, 1)).toEqual({
        sql: '((c.metadata @> ANY($1::jsonb[])))',
        params: [['{"lang":"en"}', '{"lang":["en"]}', '{"lang":"fr"}', '{"lang":["fr"]}']],
      });
    });

    it('adds a null test when the list holds null', () => {
      expect(compileFilter({ lang: { $in: ['en', null] } }, 1)).toEqual({
        sql:
          '((c.metadata @> ANY($1::jsonb[])) OR ' +
          "((c.metadata #> $2::text[]) IS NULL OR (c.metadata #> $2::text[]) = 'null'::jsonb))",
        params: [['{"lang":"en"}', '{"lang":["en"]}'], ['lang']],
      });
    });

    it('compiles a list of only null to the null test alone', () => {
      expect(compileFilter({ lang: { $in: [null] } }, 1)).toEqual({
        sql: "(((c.metadata #> $1::text[]) IS NULL OR (c.metadata #> $1::text[]) = 'null'::jsonb))",
        params: [['lang']],
      });
    });

    it('negates the whole disjunction for $nin', () => {
      expect(compileFilter({ lang: { $nin: ['en', null] } }, 1)).toEqual({
        sql:
          'NOT ((c.metadata @> ANY($1::jsonb[])) OR ' +
          "((c.metadata #> $2::text[]) IS NULL OR (c.metadata #> $2::text[]) = 'null'::jsonb))",
        params: [['{"lang":"en"}', '{"lang":["en"]}'], ['lang']],
      });
    });
  });

  describe('range operators', () => {
    it.each([
      ['$gt', '>'],
      ['$gte', '>='],
      ['$lt', '<'],
      ['$lte', '<='],
    ] as const)('compiles %s on a number to a typed jsonb comparison with %s', (op, sqlOp) => {
      expect(compileFilter({ year: { [op]: 2020 } }, 1)).toEqual({
        sql:
          "(jsonb_typeof((c.metadata #> $1::text[])) = 'number' AND " +
          `(c.metadata #> $1::text[]) ${sqlOp} $2::jsonb)`,
        params: [['year'], '2020'],
      });
    });

    it('compares strings only with strings, binding the value as a JSON string', () => {
      expect(compileFilter({ date: { $gte: '2024-01-01' } }, 1)).toEqual({
        sql:
          "(jsonb_typeof((c.metadata #> $1::text[])) = 'string' AND " +
          '(c.metadata #> $1::text[]) >= $2::jsonb)',
        params: [['date'], '"2024-01-01"'],
      });
    });

    it('joins several operators on one key by AND', () => {
      const { sql, params } = compileFilter({ year: { $gte: 2000, $lt: 2010 } }, 1);
      expect(sql).toBe(
        "(jsonb_typeof((c.metadata #> $1::text[])) = 'number' AND (c.metadata #> $1::text[]) >= $2::jsonb)" +
          ' AND ' +
          "(jsonb_typeof((c.metadata #> $3::text[])) = 'number' AND (c.metadata #> $3::text[]) < $4::jsonb)",
      );
      expect(params).toEqual([['year'], '2000', ['year'], '2010']);
    });
  });

  describe('nested keys', () => {
    it('nests the containment documents along a dotted key', () => {
      expect(compileFilter({ 'author.name': 'Ada' }, 1).params).toEqual([
        ['{"author":{"name":"Ada"}}', '{"author":{"name":["Ada"]}}'],
      ]);
    });

    it('binds a dotted key as a path array for path operators', () => {
      expect(compileFilter({ 'a.b.c': { $gt: 1 } }, 1).params).toEqual([['a', 'b', 'c'], '1']);
      expect(compileFilter({ 'a.b': null }, 1).params).toEqual([['a', 'b']]);
    });
  });

  describe('parameter numbering and composition', () => {
    it('numbers parameters from firstParam', () => {
      const { sql, params } = compileFilter({ year: { $gt: 1 } }, 7);
      expect(sql).toContain('$7::text[]');
      expect(sql).toContain('$8::jsonb');
      expect(sql).not.toMatch(/\$[1-6]\b/);
      expect(params).toHaveLength(2);
    });

    it('joins several keys by AND and numbers their parameters consecutively', () => {
      const { sql, params } = compileFilter({ lang: 'en', year: { $gte: 2000 }, owner: null }, 3);
      expect(sql).toBe(
        '(c.metadata @> ANY($3::jsonb[]))' +
          " AND (jsonb_typeof((c.metadata #> $4::text[])) = 'number' AND (c.metadata #> $4::text[]) >= $5::jsonb)" +
          " AND ((c.metadata #> $6::text[]) IS NULL OR (c.metadata #> $6::text[]) = 'null'::jsonb)",
      );
      expect(params).toEqual([['{"lang":"en"}', '{"lang":["en"]}'], ['year'], '2000', ['owner']]);
    });

    it('references each bound parameter, and no other', () => {
      const { sql, params } = compileFilter(
        { a: 'x', b: { $in: [1, null] }, c: { $ne: true }, d: { $lte: 'z' } },
        2,
      );
      const referenced = new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      expect([...referenced].sort((x, y) => x - y)).toEqual(params.map((_, i) => i + 2));
    });
  });

  describe('injection', () => {
    const HOSTILE = "a'); DROP TABLE x; --";

    const cases: [string, Filter][] = [
      ['a hostile equality value', { lang: HOSTILE }],
      ['a hostile $ne value', { lang: { $ne: HOSTILE } }],
      ['a hostile $in value', { lang: { $in: [HOSTILE, null] } }],
      ['a hostile $nin value', { lang: { $nin: [HOSTILE] } }],
      ['a hostile range value', { lang: { $gt: HOSTILE } }],
      ['a hostile key', { [HOSTILE]: 'en' }],
      ['a hostile key with a null', { [HOSTILE]: null }],
      ['a hostile dotted key with a range', { [`${HOSTILE}.${HOSTILE}`]: { $lte: 3 } }],
    ];

    it.each(cases)('keeps %s out of the SQL text', (_, filter) => {
      const { sql, params } = compileFilter(filter, 1);
      expect(sql).not.toContain('DROP');
      expect(sql).not.toContain(HOSTILE);
      for (const literal of literalsOf(sql)) expect(OWN_LITERALS).toContain(literal);
      expect(JSON.stringify(params)).toContain('DROP TABLE x');
    });

    it('binds a hostile key as path segments and inside the containment JSON', () => {
      expect(compileFilter({ [`${HOSTILE}.b`]: null }, 1).params).toEqual([[HOSTILE, 'b']]);
      expect(compileFilter({ [HOSTILE]: 1 }, 1).params).toEqual([
        [JSON.stringify({ [HOSTILE]: 1 }), JSON.stringify({ [HOSTILE]: [1] })],
      ]);
    });
  });

  it('rejects an unknown operator with RETRIEVAL.INVALID_FILTER', () => {
    const filter = { lang: { $regex: 'e.*' } } as unknown as Filter;
    expect(() => compileFilter(filter, 1)).toThrow(AppError);
    expect(() => compileFilter(filter, 1)).toThrow(
      expect.objectContaining({
        code: INVALID_FILTER,
        status: 400,
        message: 'unknown filter operator $regex',
      }),
    );
  });
});
