import { InitialSchema1732550000000 } from './1732550000000-initial-schema.js';
import { DocumentProgress1732560000000 } from './1732560000000-document-progress.js';
import { EmbeddingSets1732570000000 } from './1732570000000-embedding-sets.js';
import { DocumentSourcesOutOfLine1732580000000 } from './1732580000000-document-sources-out-of-line.js';
import { DocumentStatusCounts1732590000000 } from './1732590000000-document-status-counts.js';
import { QueueJobs1732600000000 } from './1732600000000-queue-jobs.js';
import { LexicalBlocks1732610000000 } from './1732610000000-lexical-blocks.js';
import { ApiKeys1732620000000 } from './1732620000000-api-keys.js';
import { UploadParts1732630000000 } from './1732630000000-upload-parts.js';
import { LexicalBlockVersions1732640000000 } from './1732640000000-lexical-block-versions.js';
import { HalfPrecisionVectorIndexes1732650000000 } from './1732650000000-half-precision-vector-indexes.js';
import { LexicalChanges1732660000000 } from './1732660000000-lexical-changes.js';

/** Every migration, in order. TypeORM runs them at start; `synchronize` is never used. */
export const MIGRATIONS = [
  InitialSchema1732550000000,
  DocumentProgress1732560000000,
  EmbeddingSets1732570000000,
  DocumentSourcesOutOfLine1732580000000,
  DocumentStatusCounts1732590000000,
  QueueJobs1732600000000,
  LexicalBlocks1732610000000,
  ApiKeys1732620000000,
  UploadParts1732630000000,
  LexicalBlockVersions1732640000000,
  HalfPrecisionVectorIndexes1732650000000,
  LexicalChanges1732660000000,
];
