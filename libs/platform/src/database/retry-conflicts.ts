import type { DataSource, EntityManager } from 'typeorm';

/** deadlock_detected and serialization_failure: PostgreSQL rolled the transaction back whole. */
const CONFLICTS = new Set(['40P01', '40001']);
const ATTEMPTS = 5;

/**
 * Runs database work again when PostgreSQL ended it to break a deadlock or a serialization conflict,
 * which is the remedy its manual gives ("Serialization Failure Handling"): the work was rolled back
 * whole and the other side went on. Two writers lock the same rows in different orders whenever an
 * ingest re-sends documents an indexer is updating, or a collection is deleted under either; ordering
 * every statement's row locks is not in our hands (an UPDATE locks rows in its plan's order). `work`
 * must be a transaction or a single statement, with no effect outside the database. Waits a few
 * milliseconds, at random, before each new attempt, so that the two do not meet again at once.
 */
export async function retryConflicts<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= ATTEMPTS || !isConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

/** A transaction, run again whole after a deadlock or serialization conflict (see retryConflicts). */
export function transactionRetryingConflicts<T>(
  db: DataSource,
  work: (m: EntityManager) => Promise<T>,
): Promise<T> {
  return retryConflicts(() => db.transaction(work));
}

function isConflict(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' && CONFLICTS.has(code);
}
