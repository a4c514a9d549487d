import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppError, COLLECTION_NAME, isAdmin, mayRead, mayWrite } from '#contracts';
import { FORBIDDEN } from '../domain/auth.errors.js';

/**
 * The controllers' one question before they touch a collection: may this request's caller read (or
 * write) it? 403 when a valid key's scopes do not cover it. A request without a principal was let in
 * unrestricted by AuthMiddleware (anonymous loopback, AUTH=off).
 */
export function assertRead(req: Request, collection: string): void {
  if (!mayRead(req.principal, collection))
    throw new AppError(FORBIDDEN, `this API key may not read collection "${collection}"`);
}

export function assertWrite(req: Request, collection: string): void {
  if (!mayWrite(req.principal, collection))
    throw new AppError(FORBIDDEN, `this API key may not write to collection "${collection}"`);
}

/** Reading a job: its collection's read or write scope (an ingestion pipeline follows its own jobs). */
export function mayFollowJobs(req: Request, collection: string): boolean {
  return mayRead(req.principal, collection) || mayWrite(req.principal, collection);
}

export function assertAdmin(req: Request): void {
  if (!isAdmin(req.principal)) throw new AppError(FORBIDDEN, 'this needs an API key with the admin scope');
}

const ACCESS = 'ragnest:collection-access';

/** The access a route needs to the collection named by its `:collection` parameter. */
export const CollectionAccess = (action: 'read' | 'write') => SetMetadata(ACCESS, action);

/**
 * Checks a route's `@CollectionAccess` before interceptors run, so an upload to a collection the key may
 * not write is refused before a byte of it is read. A malformed name is left to the parameter's pipe (400).
 */
@Injectable()
export class CollectionAccessGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const action = this.reflector.get<'read' | 'write' | undefined>(ACCESS, context.getHandler());
    const req = context.switchToHttp().getRequest<Request>();
    const collection = req.params?.collection;
    if (!action || typeof collection !== 'string' || !COLLECTION_NAME.test(collection)) return true;
    if (action === 'read') assertRead(req, collection);
    else assertWrite(req, collection);
    return true;
  }
}
