import { ApiError, enc, getJson, message } from './api.js';
import { fill, h } from './dom.js';
import { COLLECTION_NAME, remember, state } from './state.js';

/** The collections view: each collection's documents by status, its embedding model and index state. */
interface CollectionStats {
  name: string;
  documents: { queued: number; processing: number; indexed: number; failed: number };
  chunks: number;
  embedding?: { model: string; dimensions: number; index: string };
  reindex?: { model: string; status: string; progress: number; error?: string };
  stalled?: { documents: number };
}

/**
 * The names to show: the server's list when it has `GET /rag/collections` (any of `[name]`,
 * `[{name}]` or `{collections: …}`), else the ones this browser has used. One function to change.
 */
export async function listCollectionNames(): Promise<string[]> {
  try {
    const body = await getJson<unknown>('/rag/collections');
    const list = Array.isArray(body) ? body : (body as { collections?: unknown[] }).collections;
    if (Array.isArray(list)) {
      const names = list.map((c) => (typeof c === 'string' ? c : (c as { name?: string }).name));
      return [...new Set([...names.filter((n): n is string => !!n), ...state.known()])].sort();
    }
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) throw error;
  }
  return state.known();
}

export function collectionsView(): { el: HTMLElement; show(): void } {
  const rows = h('tbody');
  const status = h('p', { class: 'status', role: 'status' });
  const name = h('input', { id: 'open-name', placeholder: 'collection name', autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'row' },
    h('label', { for: 'open-name' }, 'Open or create'),
    name,
    h('button', { type: 'submit' }, 'Use'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = name.value.trim();
    if (!COLLECTION_NAME.test(value)) {
      status.textContent = 'A collection name is letters, digits, ".", "_" or "-".';
      return;
    }
    state.use(value);
    name.value = '';
    void refresh();
  });
  const refreshButton = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refreshButton.addEventListener('click', () => void refresh());

  async function refresh(): Promise<void> {
    status.textContent = 'Loading…';
    try {
      const names = await listCollectionNames();
      if (!names.includes(state.collection)) names.push(state.collection);
      const stats = await Promise.all(names.map(load));
      fill(rows, ...stats.map(row));
      status.textContent = `${names.length} collection${names.length === 1 ? '' : 's'}`;
    } catch (error) {
      status.textContent = message(error);
    }
  }

  function row(c: CollectionStats | { name: string; missing: string }): HTMLTableRowElement {
    const use = h(
      'button',
      { type: 'button', class: 'secondary' },
      c.name === state.collection ? 'In use' : 'Use',
    );
    use.addEventListener('click', () => {
      state.use(c.name);
      void refresh();
    });
    if ('missing' in c)
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, c.name),
        h('td', { colspan: 7 }, c.missing),
        h('td', {}, use),
      );
    const d = c.documents;
    const e = c.embedding;
    const reindex = c.reindex ? ` · re-index ${c.reindex.status} ${Math.round(c.reindex.progress)}%` : '';
    return h(
      'tr',
      { 'data-collection': c.name },
      h('th', { scope: 'row' }, c.name),
      h('td', { class: 'num' }, d.queued),
      h('td', { class: 'num' }, d.processing),
      h('td', { class: 'num' }, d.indexed),
      h('td', { class: d.failed ? 'num bad' : 'num' }, d.failed),
      h('td', { class: 'num' }, c.chunks),
      h('td', {}, e ? `${e.model} (${e.dimensions})` : '–'),
      h(
        'td',
        {},
        `${e?.index ?? '–'}${reindex}${c.stalled?.documents ? ` · ${c.stalled.documents} stalled` : ''}`,
      ),
      h('td', {}, use),
    );
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'collections-h' },
    h('h2', { id: 'collections-h' }, 'Collections'),
    h(
      'p',
      { class: 'hint' },
      'A collection is created by its first upload. Pick one to add documents to, ask, or evaluate.',
    ),
    form,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'collections' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              'Collection',
              'Queued',
              'Processing',
              'Indexed',
              'Failed',
              'Chunks',
              'Embedding model',
              'Index',
              '',
            ].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        rows,
      ),
    ),
    h('div', { class: 'row' }, refreshButton, status),
  );
  return { el, show: () => void refresh() };
}

async function load(name: string): Promise<CollectionStats | { name: string; missing: string }> {
  try {
    const stats = await getJson<CollectionStats>(`/rag/collections/${enc(name)}`);
    remember(name);
    return stats;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404)
      return { name, missing: 'empty: nothing uploaded yet' };
    return { name, missing: message(error) };
  }
}
