import { enc, getJson, message, postJson, readEvents } from './api.js';
import { fill, h } from './dom.js';
import { state } from './state.js';

/**
 * Adding documents: files (picked or dropped) or pasted text, sent to the current collection; each
 * document's progress followed live on its job's event stream, a failure shown with its reason and a
 * button that queues it again.
 */
interface Accepted {
  id: string;
  status: 'queued' | 'unchanged';
  jobId: string;
}

interface JobEvent {
  status?: string;
  stage?: string;
  progress?: number;
  error?: string;
}

export function uploadView(): { el: HTMLElement } {
  const list = h('ul', { class: 'jobs', id: 'jobs', 'aria-live': 'polite' });
  const status = h('p', { class: 'status', role: 'status' });
  const target = h('strong', {}, state.collection);
  state.onCollection((c) => (target.textContent = c));

  const files = h('input', {
    type: 'file',
    id: 'files',
    multiple: true,
    accept: '.txt,.md,.html,.htm,.pdf,.json,.jsonl',
  });
  const drop = h(
    'div',
    { class: 'drop', id: 'drop' },
    h('label', { for: 'files' }, 'Files (txt, md, html, pdf): pick or drop them here'),
    files,
  );
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files.length) void sendFiles([...e.dataTransfer.files]);
  });
  const fileForm = h('form', {}, drop, h('button', { type: 'submit' }, 'Upload files'));
  fileForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (files.files?.length) void sendFiles([...files.files]);
    else status.textContent = 'Pick at least one file.';
  });

  const docId = h('input', { id: 'paste-id', placeholder: 'e.g. notes-1', autocomplete: 'off' });
  const title = h('input', { id: 'paste-title', autocomplete: 'off' });
  const text = h('textarea', { id: 'paste-text', rows: 6 });
  const pasteForm = h(
    'form',
    { class: 'stack' },
    h('label', { for: 'paste-id' }, 'Document id'),
    docId,
    h('label', { for: 'paste-title' }, 'Title (optional)'),
    title,
    h('label', { for: 'paste-text' }, 'Text'),
    text,
    h('button', { type: 'submit' }, 'Add text'),
  );
  pasteForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = docId.value.trim() || `pasted-${Date.now()}`;
    if (!text.value.trim()) {
      status.textContent = 'Paste some text first.';
      return;
    }
    const doc = { id, text: text.value, ...(title.value.trim() && { title: title.value.trim() }) };
    void send(() => postJson<{ documents: Accepted[] }>(path(), { documents: [doc] }), [id]);
  });

  const path = () => `/rag/collections/${enc(state.collection)}/documents`;

  async function sendFiles(picked: File[]): Promise<void> {
    const form = new FormData();
    for (const f of picked) form.append('files', f, f.name);
    await send(
      () => getJson<{ documents: Accepted[] }>(path(), { method: 'POST', body: form }),
      picked.map((f) => f.name),
    );
  }

  async function send(request: () => Promise<{ documents: Accepted[] }>, names: string[]): Promise<void> {
    status.textContent = `Sending ${names.length} document${names.length === 1 ? '' : 's'}…`;
    try {
      const { documents } = await request();
      status.textContent = `Accepted ${documents.length} into ${state.collection}.`;
      for (const d of documents) follow(state.collection, d);
    } catch (error) {
      status.textContent = message(error);
    }
  }

  /** A row for a document, kept current from its job's events until the job ends. */
  function follow(collection: string, accepted: Accepted): void {
    const existing = list.querySelector<HTMLLIElement>(`li[data-doc="${CSS.escape(accepted.id)}"]`);
    const row = existing ?? h('li', { 'data-doc': accepted.id });
    if (!existing) list.prepend(row);
    const bar = h('progress', { max: 100, value: 0, 'aria-label': `progress of ${accepted.id}` });
    const label = h('span', { class: 'job-status' });
    const reason = h('span', { class: 'reason' });
    const actions = h('span', { class: 'actions' });
    fill(row, h('span', { class: 'doc-id' }, accepted.id), bar, label, reason, actions);
    const show = (e: JobEvent) => {
      row.dataset.status = e.status ?? '';
      label.textContent = [e.status, e.stage].filter(Boolean).join(' · ');
      if (typeof e.progress === 'number') bar.value = e.progress;
      if (e.status === 'indexed') bar.value = 100;
    };
    if (accepted.status === 'unchanged') {
      show({ status: 'indexed', progress: 100 });
      reason.textContent = 'unchanged: same content as before';
      return;
    }
    show({ status: 'queued', progress: 0 });
    const retry = () => {
      const button = h('button', { type: 'button', class: 'secondary retry' }, 'Retry');
      button.addEventListener('click', () => {
        button.disabled = true;
        postJson<Accepted>(`/rag/collections/${enc(collection)}/documents/${enc(accepted.id)}/retry`, {})
          .then((again) => follow(collection, { ...again, id: accepted.id, status: 'queued' }))
          .catch((error) => {
            reason.textContent = message(error);
            button.disabled = false;
          });
      });
      fill(actions, button);
    };
    void (async () => {
      // The stream ends at the request deadline without a final event: then it is opened again.
      for (let final = false; !final;) {
        try {
          await readEvents(`/rag/jobs/${enc(accepted.jobId)}/events`, {}, ({ event, data }) => {
            const e = data as JobEvent;
            if (event === 'progress') show(e);
            if (event === 'done') show({ ...e, status: 'indexed' });
            if (event === 'failed') {
              show({ ...e, status: 'failed' });
              reason.textContent = e.error ?? 'failed';
              retry();
            }
            if (event === 'superseded') show({ status: 'superseded' });
            final ||= event !== 'progress';
          });
        } catch (error) {
          reason.textContent = message(error);
          return;
        }
      }
    })();
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'upload-h' },
    h('h2', { id: 'upload-h' }, 'Add documents'),
    h(
      'p',
      { class: 'hint' },
      'Into collection ',
      target,
      '. The same id with new text replaces the old version.',
    ),
    h('div', { class: 'two' }, fileForm, pasteForm),
    status,
    h('h3', {}, 'Progress'),
    list,
  );
  return { el };
}
