import { CollectionName, DocumentId } from '#contracts';
import { ZodValidationPipe } from '#platform';

/** Path parameters are validated like bodies, with errors that name the parameter. */
export const collectionParam = new ZodValidationPipe(CollectionName, 'collection');
export const documentIdParam = new ZodValidationPipe(DocumentId, 'document id');
