import { CollectionName, DocumentId, JobId, ListDocumentsQuery } from '#contracts';
import { ZodValidationPipe } from '#platform';

/** Path and query parameters are validated like bodies, with errors that name the parameter. */
export const collectionParam = new ZodValidationPipe(CollectionName, 'collection');
export const documentIdParam = new ZodValidationPipe(DocumentId, 'document id');
export const jobIdParam = new ZodValidationPipe(JobId, 'job id');
export const listDocumentsQuery = new ZodValidationPipe(ListDocumentsQuery, 'query');
