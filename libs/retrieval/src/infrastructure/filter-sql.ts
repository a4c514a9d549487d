import { AppError, type Filter, type FilterOperators, type Scalar } from '#contracts';
import { INVALID_FILTER } from '../domain/retrieval.errors.js';

/**
 * Compiles the contract's metadata filter into a SQL predicate on `c.metadata` (jsonb). Values and
 * paths are always bound as parameters, never spliced into the SQL text.
 *
 * Semantics follow MongoDB: equality on an array field matches when the array contains the value;
 * `$ne`/`$nin` match documents without the field; `$gt`-style operators compare numbers with numbers
 * and strings with strings, never across types. Equality is written as jsonb containment so the GIN
 * index on metadata can serve it.
 */
export interface CompiledFilter {
  sql: string;
  params: unknown[];
}

const RANGE_OPS = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' } as const;

export function compileFilter(filter: Filter | undefined, firstParam: number): CompiledFilter {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const clauses: string[] = [];
  for (const [key, condition] of Object.entries(filter ?? {})) {
    const path = key.split('.');
    const ops: FilterOperators = isOperatorObject(condition) ? condition : { $eq: condition };
    for (const [op, value] of Object.entries(ops)) {
      if (value === undefined) continue;
      clauses.push(compileOperator(op, path, value, bind));
    }
  }
  return { sql: clauses.length > 0 ? clauses.join(' AND ') : 'TRUE', params };
}

function compileOperator(op: string, path: string[], value: unknown, bind: (v: unknown) => string): string {
  switch (op) {
    case '$eq':
      return equals(path, value as Scalar, bind);
    case '$ne':
      return `NOT ${equals(path, value as Scalar, bind)}`;
    case '$in':
      return anyOf(path, value as Scalar[], bind);
    case '$nin':
      return `NOT ${anyOf(path, value as Scalar[], bind)}`;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const v = value as string | number;
      const type = typeof v === 'number' ? 'number' : 'string';
      const field = `(c.metadata #> ${bind(path)}::text[])`;
      return `(jsonb_typeof(${field}) = '${type}' AND ${field} ${RANGE_OPS[op]} ${bind(JSON.stringify(v))}::jsonb)`;
    }
    default:
      throw new AppError(INVALID_FILTER, `unknown filter operator ${op}`);
  }
}

/** Containment documents that match `path = value`, or an array at `path` holding value. */
function containments(path: string[], value: Scalar): string[] {
  const nest = (leaf: unknown) => path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), leaf);
  return [JSON.stringify(nest(value)), JSON.stringify(nest([value]))];
}

function equals(path: string[], value: Scalar, bind: (v: unknown) => string): string {
  if (value === null) {
    const field = `(c.metadata #> ${bind(path)}::text[])`;
    return `(${field} IS NULL OR ${field} = 'null'::jsonb)`;
  }
  return `(c.metadata @> ANY(${bind(containments(path, value))}::jsonb[]))`;
}

function anyOf(path: string[], values: Scalar[], bind: (v: unknown) => string): string {
  const parts: string[] = [];
  const nonNull = values.filter((v) => v !== null);
  if (nonNull.length > 0)
    parts.push(`(c.metadata @> ANY(${bind(nonNull.flatMap((v) => containments(path, v)))}::jsonb[]))`);
  if (nonNull.length < values.length) parts.push(equals(path, null, bind));
  return `(${parts.join(' OR ')})`;
}

function isOperatorObject(value: unknown): value is FilterOperators {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
