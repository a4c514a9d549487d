import './styles.css';
import { apiKey } from './api.js';
import { askView } from './ask.js';
import { collectionsView } from './collections.js';
import { h } from './dom.js';
import { evaluateView } from './evaluate.js';
import { state } from './state.js';
import { uploadView } from './upload.js';

/**
 * The playground's shell: the views behind a hash route (#collections, #add, #ask, #evaluate), the
 * collection in use, and the API key field, which opens itself when the server answers 401.
 */
const collections = collectionsView();
const views: Record<string, { title: string; el: HTMLElement; show?: () => void }> = {
  collections: { title: 'Collections', ...collections },
  add: { title: 'Add documents', ...uploadView() },
  ask: { title: 'Ask', ...askView() },
  evaluate: { title: 'Evaluate', ...evaluateView() },
};

const key = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', value: apiKey.get() });
const keyNote = h('span', { class: 'hint', role: 'status', id: 'api-key-note' });
const keyBox = h(
  'details',
  { class: 'key', id: 'api-key-box' },
  h('summary', {}, 'API key'),
  h('label', { for: 'api-key' }, 'Bearer key (kept in this tab only)'),
  key,
  keyNote,
);
key.addEventListener('change', () => {
  apiKey.set(key.value.trim());
  keyNote.textContent = key.value ? 'Saved for this tab.' : 'Cleared.';
});
apiKey.onRequired(() => {
  keyBox.open = true;
  keyBox.classList.add('required');
  keyNote.textContent = apiKey.get()
    ? 'The server refused this key: check it, or its scopes.'
    : 'The server requires an API key.';
});

const current = h('strong', { id: 'current-collection' }, state.collection);
state.onCollection((c) => (current.textContent = c));
const links = Object.entries(views).map(([id, v]) => h('a', { href: `#${id}`, 'data-view': id }, v.title));
const main = h('main', { id: 'main' });

document
  .getElementById('app')!
  .replaceWith(
    h(
      'div',
      { id: 'app' },
      h(
        'header',
        {},
        h('h1', {}, 'ragnest ', h('span', { class: 'sub' }, 'playground')),
        h('p', { class: 'in-use' }, 'Collection: ', current),
        h('nav', { 'aria-label': 'views' }, ...links, h('a', { href: '/docs' }, 'API docs')),
        keyBox,
      ),
      main,
    ),
  );

function route(): void {
  const id = location.hash.slice(1) in views ? location.hash.slice(1) : 'collections';
  for (const link of links)
    if (link.dataset.view === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  main.replaceChildren(views[id].el);
  document.title = `${views[id].title} · ragnest playground`;
  views[id].show?.();
}
window.addEventListener('hashchange', route);
route();
