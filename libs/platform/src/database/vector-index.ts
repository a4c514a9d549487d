import type { EntityManager } from 'typeorm';

/**
 * Each embedding size has its own partial HNSW index, so collections with different embedders share the
 * chunks table. Queries must use the same expression and predicate for the planner to pick the index:
 * `embedding::vector(n) <=> $q::vector(n)` with `dimensions = n` (see vectorDistanceSql).
 */
export function vectorIndexName(dimensions: number): string {
  return `chunks_embedding_${dimensions}_hnsw`;
}

export function assertDimensions(dimensions: number): number {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 16000) {
    throw new Error(`invalid embedding dimensions: ${dimensions}`);
  }
  return dimensions;
}

export async function ensureVectorIndex(manager: EntityManager, dimensions: number): Promise<void> {
  const n = assertDimensions(dimensions);
  await manager.query(
    `CREATE INDEX IF NOT EXISTS ${vectorIndexName(n)} ON chunks USING hnsw ((embedding::vector(${n})) vector_cosine_ops) WHERE dimensions = ${n}`,
  );
}

/** The dimensions are an integer checked above, never user text, so inlining them is safe. */
export function vectorDistanceSql(dimensions: number, param: string): string {
  const n = assertDimensions(dimensions);
  return `(c.embedding::vector(${n}) <=> ${param}::vector(${n}))`;
}

export function toVectorLiteral(vector: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < vector.length; i++) {
    if (i > 0) s += ',';
    s += Number.isFinite(vector[i]) ? vector[i] : 0;
  }
  return s + ']';
}
