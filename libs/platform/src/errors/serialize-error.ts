import { AppError } from '#contracts';
import { databaseInputError } from '../database/database-input-error.js';

/** Errors cross a transport as plain objects; AppError keeps its code (and its code's status). */
export function serializeError(err: unknown): unknown {
  if (err instanceof AppError) return err.toJSON();
  if (AppError.isSerialized(err)) return err;
  const refused = databaseInputError(err);
  if (refused) return refused.toJSON();
  return new AppError('INTERNAL.ERROR', 'internal error').toJSON();
}
