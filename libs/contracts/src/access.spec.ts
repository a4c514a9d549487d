import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLLECTION_NAME } from './dto/common.dto.js';
import { isAdmin, isScope, mayRead, mayWrite, patternMatches, type Principal, scopeError } from './access.js';

const key = (...scopes: Principal['scopes']): Principal => ({ id: 'k', name: 'k', scopes });
const name = fc.stringMatching(COLLECTION_NAME);

describe('scopes', () => {
  it.each(['admin', 'read:docs', 'write:docs-*', 'read:*', 'read:a.b_c-1', 'write:A*'])('accepts %s', (s) => {
    expect(scopeError(s)).toBeUndefined();
    expect(isScope(s)).toBe(true);
  });

  it.each([
    '',
    'Admin',
    'read',
    'read:',
    'delete:docs',
    'read:docs*x',
    'read:*docs',
    'read:-docs',
    'read:../docs',
    'read:docs **',
    'read:a:b',
    `read:${'a'.repeat(129)}`,
    'read:do cs',
  ])('refuses %j, naming it', (s) => {
    expect(scopeError(s)).toContain(`"${s}"`);
    expect(isScope(s)).toBe(false);
  });
});

describe('patternMatches', () => {
  it('matches a name exactly, a prefix ending in *, or anything for *', () => {
    expect(patternMatches('docs', 'docs')).toBe(true);
    expect(patternMatches('docs', 'docs-a')).toBe(false);
    expect(patternMatches('docs', 'Docs')).toBe(false);
    expect(patternMatches('docs-*', 'docs-a')).toBe(true);
    expect(patternMatches('docs-*', 'docs-')).toBe(true);
    expect(patternMatches('docs-*', 'docs')).toBe(false);
    expect(patternMatches('docs-*', 'xdocs-a')).toBe(false);
    expect(patternMatches('*', 'anything.at_all')).toBe(true);
  });

  it('never matches what is not a collection name', () => {
    for (const bad of ['', '../docs', 'docs/../x', '.docs', 'docs\u0000', ' docs'])
      expect(patternMatches('*', bad)).toBe(false);
  });

  it('a prefix pattern matches exactly the names that start with its prefix', () => {
    fc.assert(
      fc.property(name, name, (prefix, collection) => {
        expect(patternMatches(`${prefix}*`, collection)).toBe(collection.startsWith(prefix));
        expect(patternMatches(prefix, collection)).toBe(prefix === collection);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('mayRead, mayWrite, isAdmin', () => {
  it('lets an unrestricted caller (no principal) do anything', () => {
    expect(mayRead(undefined, 'x')).toBe(true);
    expect(mayWrite(undefined, 'x')).toBe(true);
    expect(isAdmin(undefined)).toBe(true);
  });

  it('keeps read and write apart, and lets admin do both', () => {
    const reader = key('read:docs-*');
    expect(mayRead(reader, 'docs-1')).toBe(true);
    expect(mayWrite(reader, 'docs-1')).toBe(false);
    expect(mayRead(reader, 'other')).toBe(false);
    const writer = key('write:inbox');
    expect(mayWrite(writer, 'inbox')).toBe(true);
    expect(mayRead(writer, 'inbox')).toBe(false);
    expect(isAdmin(reader)).toBe(false);
    const admin = key('admin');
    expect(mayRead(admin, 'any') && mayWrite(admin, 'any') && isAdmin(admin)).toBe(true);
    expect(mayRead(key(), 'docs')).toBe(false);
  });

  it('grants a collection only through a scope whose pattern covers it', () => {
    const scope = fc.tuple(fc.constantFrom('read', 'write'), name, fc.boolean());
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 5 }), name, (scopes, collection) => {
        const p = key(...scopes.map(([a, n, prefix]) => `${a}:${n}${prefix ? '*' : ''}` as const));
        const covers = (action: string) =>
          scopes.some(
            ([a, n, prefix]) => a === action && (prefix ? collection.startsWith(n) : collection === n),
          );
        expect(mayRead(p, collection)).toBe(covers('read'));
        expect(mayWrite(p, collection)).toBe(covers('write'));
      }),
      { numRuns: 2000 },
    );
  });
});
