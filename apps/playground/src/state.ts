/**
 * What the views share: the collection in use, and the collections this browser has used (the list
 * the collections view falls back to while the server has no `GET /rag/collections`).
 */
const CURRENT = 'ragnest.collection';
const KNOWN = 'ragnest.collections';

type Listener = (collection: string) => void;
const listeners: Listener[] = [];

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const state = {
  get collection(): string {
    return localStorage.getItem(CURRENT) ?? 'demo';
  },
  use(collection: string): void {
    localStorage.setItem(CURRENT, collection);
    remember(collection);
    listeners.forEach((l) => l(collection));
  },
  onCollection(listener: Listener): void {
    listeners.push(listener);
  },
  known(): string[] {
    try {
      const list = JSON.parse(localStorage.getItem(KNOWN) ?? '[]') as unknown;
      return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
    } catch {
      return [];
    }
  },
};

export function remember(collection: string): void {
  const known = state.known();
  if (!known.includes(collection)) localStorage.setItem(KNOWN, JSON.stringify([...known, collection].sort()));
}
