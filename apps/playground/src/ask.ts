import { message, readEvents } from './api.js';
import { fill, fmt, h } from './dom.js';
import { degradedNotice, explainPanel } from './explain.js';
import { state } from './state.js';
import type { Citation, QueryResponse as Answer } from '#contracts';

/**
 * Asking: the answer streamed token by token from `POST /rag/query` (`stream: true`), its `[n]` markers
 * linking to the cited passages, a stop button that aborts the request (the server then cancels the model
 * call), and the earlier turns of the conversation sent as `history`.
 */
interface Turn {
  question: string;
  answer: string;
}

const MAX_HISTORY_TURNS = 20;

export function askView(): { el: HTMLElement } {
  const turns: Turn[] = [];
  let controller: AbortController | undefined;
  let turnNo = 0;
  const log = h('ol', { class: 'conversation', id: 'conversation' });
  const question = h('textarea', {
    id: 'question',
    rows: 2,
    placeholder: 'Ask about the documents in the collection',
  });
  const mode = h(
    'select',
    { id: 'ask-mode' },
    ...['hybrid', 'dense', 'sparse'].map((m) => h('option', { value: m }, m)),
  );
  const topK = h('input', { id: 'ask-topk', type: 'number', min: 1, max: 50, value: 5 });
  const ask = h('button', { type: 'submit', id: 'ask' }, 'Ask');
  const stop = h('button', { type: 'button', id: 'stop', class: 'danger', disabled: true }, 'Stop');
  const reset = h('button', { type: 'button', class: 'secondary' }, 'New conversation');
  const target = h('strong', {}, state.collection);
  state.onCollection((c) => (target.textContent = c));
  const form = h(
    'form',
    { class: 'stack' },
    h('label', { for: 'question' }, 'Question'),
    question,
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'ask-mode' }, 'Mode'),
      mode,
      h('label', { for: 'ask-topk' }, 'Sources'),
      topK,
      ask,
      stop,
      reset,
    ),
  );
  stop.addEventListener('click', () => controller?.abort());
  reset.addEventListener('click', () => {
    controller?.abort();
    turns.length = 0;
    turnNo = 0;
    log.replaceChildren();
  });
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = question.value.trim();
    if (!q || controller) return;
    question.value = '';
    void run(q);
  });

  async function run(q: string): Promise<void> {
    const id = `t${++turnNo}`;
    const answerEl = h('div', { class: 'answer', id: `${id}-answer`, 'aria-live': 'polite' });
    const meta = h('p', { class: 'meta', role: 'status' }, 'waiting for the sources…');
    const sources = h('ol', { class: 'sources', id: `${id}-sources` });
    const explainBox = h('div', { class: 'explain-box', id: `${id}-explain` });
    const actions = h('div', { class: 'row' });
    log.append(
      h(
        'li',
        { class: 'turn', id },
        h('p', { class: 'q' }, h('span', { class: 'who' }, 'You: '), q),
        answerEl,
        meta,
        actions,
        explainBox,
        h('h4', { class: 'sr-heading' }, 'Sources'),
        sources,
      ),
    );
    answerEl.scrollIntoView({ block: 'nearest' });
    controller = new AbortController();
    stop.disabled = false;
    ask.disabled = true;
    const started = performance.now();
    let firstToken: number | undefined;
    let text = '';
    let done: Answer | undefined;
    const history = turns.slice(-MAX_HISTORY_TURNS / 2).flatMap((t) => [
      { role: 'user', content: t.question },
      { role: 'assistant', content: t.answer },
    ]);
    try {
      await readEvents(
        '/rag/query',
        {
          method: 'POST',
          signal: controller.signal,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            collection: state.collection,
            query: q,
            topK: Number(topK.value) || 5,
            mode: mode.value,
            stream: true,
            explain: true,
            ...(history.length > 0 && { history }),
          }),
        },
        ({ event, data }) => {
          if (event === 'sources') {
            renderSources(sources, id, (data as { sources: Citation[] }).sources);
            meta.textContent = 'writing…';
          } else if (event === 'token') {
            firstToken ??= performance.now() - started;
            text += (data as { text: string }).text;
            answerEl.textContent = text;
          } else if (event === 'done') {
            done = data as Answer;
          } else if (event === 'error') {
            throw new Error((data as { error?: { message?: string } }).error?.message ?? 'the answer failed');
          }
        },
      );
      if (!done) throw new Error('the stream ended before the answer was done');
      const answer = done;
      renderAnswer(answerEl, answer.answer, id, sources);
      renderSources(sources, id, answer.citations);
      turns.push({ question: q, answer: answer.answer });
      fill(
        meta,
        `${fmt(performance.now() - started, 0)} ms`,
        firstToken !== undefined ? ` · first token ${fmt(firstToken, 0)} ms` : '',
        ` · ${answer.citations.length} source${answer.citations.length === 1 ? '' : 's'}`,
      );
      const notice = degradedNotice(answer.degraded, answer);
      if (notice) meta.after(notice);
      const open = h(
        'button',
        {
          type: 'button',
          class: 'secondary explain-open',
          'aria-expanded': 'false',
          'aria-controls': explainBox.id,
        },
        'Explain',
      );
      open.addEventListener('click', () => {
        const opened = open.getAttribute('aria-expanded') === 'true';
        open.setAttribute('aria-expanded', String(!opened));
        if (opened) explainBox.replaceChildren();
        else fill(explainBox, explainPanel(answer, firstToken));
      });
      fill(actions, open);
    } catch (error) {
      const aborted = controller.signal.aborted;
      meta.textContent = aborted ? `stopped after ${fmt(performance.now() - started, 0)} ms` : message(error);
      meta.classList.add(aborted ? 'stopped' : 'bad');
      if (aborted) answerEl.classList.add('partial');
    } finally {
      controller = undefined;
      stop.disabled = true;
      ask.disabled = false;
    }
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'ask-h' },
    h('h2', { id: 'ask-h' }, 'Ask'),
    h(
      'p',
      { class: 'hint' },
      'Answers from collection ',
      target,
      ', with numbered sources. Follow-up questions use the conversation so far.',
    ),
    log,
    form,
  );
  return { el };
}

/** The answer with each `[n]` a link to source n, which is highlighted when followed. */
function renderAnswer(el: HTMLElement, answer: string, turn: string, sources: HTMLElement): void {
  el.replaceChildren();
  let last = 0;
  for (const m of answer.matchAll(/\[(\d+)\]/g)) {
    el.append(answer.slice(last, m.index));
    const n = m[1];
    const link = h('a', { href: `#${turn}-src-${n}`, class: 'cite' }, `[${n}]`);
    link.addEventListener('click', (e) => {
      e.preventDefault();
      highlight(sources, `${turn}-src-${n}`);
    });
    el.append(link);
    last = m.index + m[0].length;
  }
  el.append(answer.slice(last));
}

function highlight(sources: HTMLElement, id: string): void {
  for (const li of sources.querySelectorAll('.highlight')) li.classList.remove('highlight');
  const target = sources.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
  if (!target) return;
  target.classList.add('highlight');
  target.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  target.focus();
}

function renderSources(list: HTMLElement, turn: string, citations: Citation[]): void {
  fill(
    list,
    ...citations.map((c, i) =>
      h(
        'li',
        { id: `${turn}-src-${c.index ?? i + 1}`, tabindex: -1 },
        h('span', { class: 'n' }, `[${c.index ?? i + 1}] `),
        h('strong', {}, c.title ?? c.documentId),
        h('small', {}, ` ${c.documentId} · score ${fmt(c.score)}`),
        h('blockquote', { class: 'passage' }, c.text),
      ),
    ),
  );
}
