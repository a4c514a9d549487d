import { Injectable } from '@nestjs/common';
import type { CollectionRef, CollectionView } from '#contracts';
import { DocumentRepository } from '../../infrastructure/document.repository.js';

@Injectable()
export class GetCollectionHandler {
  constructor(private readonly repository: DocumentRepository) {}

  execute(request: CollectionRef): Promise<CollectionView> {
    return this.repository.collectionView(request.collection);
  }
}
