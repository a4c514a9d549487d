import { COLLECTION_NAME } from './dto/common.dto.js';

/**
 * Who is calling and what they may touch: the scopes an API key carries, and the one rule that decides
 * whether a caller may read or write a collection. Pure, so every context and transport decides alike.
 *
 * A scope is `admin` (everything, the key API included), or `read:<pattern>` / `write:<pattern>`, where a
 * pattern is a collection name, a name prefix ending in `*` (`docs-*`), or `*` (every collection).
 * Write does not imply read: an ingestion pipeline's key may add documents without reading any.
 */
export type Scope = 'admin' | `read:${string}` | `write:${string}`;

/** The caller a valid API key makes; absent for anonymous loopback use and with AUTH=off. */
export interface Principal {
  /** The key's public id (the `<id>` of `rn_<id>_<secret>`), what rate limits and logs name. */
  id: string;
  name: string;
  scopes: readonly Scope[];
}

const PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\*?)$/;
export const SCOPE_MAX = 64;

/** Why a scope string is not one, or undefined when it is. */
export function scopeError(scope: string): string | undefined {
  if (scope === 'admin') return undefined;
  const colon = scope.indexOf(':');
  const action = colon < 0 ? scope : scope.slice(0, colon);
  if (action !== 'read' && action !== 'write')
    return `scope "${scope}": expected admin, read:<collection or prefix*> or write:<collection or prefix*>`;
  const pattern = colon < 0 ? '' : scope.slice(colon + 1);
  if (!PATTERN.test(pattern))
    return `scope "${scope}": the pattern must be a collection name, a name prefix ending in "*", or "*"`;
  return undefined;
}

export function isScope(scope: string): scope is Scope {
  return scopeError(scope) === undefined;
}

/** Whether a pattern of a scope covers a collection name. */
export function patternMatches(pattern: string, collection: string): boolean {
  if (!COLLECTION_NAME.test(collection)) return false;
  if (pattern.endsWith('*')) return collection.startsWith(pattern.slice(0, -1));
  return pattern === collection;
}

function grants(principal: Principal, action: 'read' | 'write', collection: string): boolean {
  return principal.scopes.some(
    (s) =>
      s === 'admin' || (s.startsWith(`${action}:`) && patternMatches(s.slice(action.length + 1), collection)),
  );
}

/** No principal means the request was let in unrestricted (anonymous loopback, or AUTH=off). */
export function mayRead(principal: Principal | undefined, collection: string): boolean {
  return principal === undefined || grants(principal, 'read', collection);
}

export function mayWrite(principal: Principal | undefined, collection: string): boolean {
  return principal === undefined || grants(principal, 'write', collection);
}

export function isAdmin(principal: Principal | undefined): boolean {
  return principal === undefined || principal.scopes.includes('admin');
}
