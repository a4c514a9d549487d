import { InitialSchema1732550000000 } from './1732550000000-initial-schema.js';

/** Every migration, in order. TypeORM runs them at start; `synchronize` is never used. */
export const MIGRATIONS = [InitialSchema1732550000000];
