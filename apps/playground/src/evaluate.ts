import { documentRanking, meanMetrics, queryMetrics, recallAt, type QueryMetrics } from '#ranking-metrics';
import { enc, getJson, message, postJson } from './api.js';
import { fill, fmt, h, s } from './dom.js';
import { parseEvalFiles, type EvalQuery, type EvalSet } from './eval-data.js';
import { state } from './state.js';
import type { SearchHit } from '#contracts';

/**
 * Evaluating: a small set of questions with their expected documents, searched with two settings;
 * nDCG@10, Recall@10 and Recall@k per setting, computed here from `/rag/search` with the CLI's own
 * formulas (#ranking-metrics), and each question's nDCG@10 under both settings side by side.
 */
interface Setting {
  mode: string;
  topK: number;
}

interface Scored extends QueryMetrics {
  recallK: number;
}

const BATCH = 500;

function settingForm(name: string, mode: string, topK: number) {
  const modeEl = h(
    'select',
    { id: `eval-${name}-mode` },
    ...['hybrid', 'dense', 'sparse'].map((m) => h('option', { value: m, selected: m === mode }, m)),
  );
  const topKEl = h('input', { id: `eval-${name}-topk`, type: 'number', min: 1, max: 100, value: topK });
  const el = h(
    'fieldset',
    {},
    h('legend', {}, `Setting ${name}`),
    h('label', { for: modeEl.id }, 'Mode'),
    modeEl,
    h('label', { for: topKEl.id }, 'Top k'),
    topKEl,
  );
  return {
    el,
    read: (): Setting => ({
      mode: modeEl.value,
      topK: Math.min(100, Math.max(1, Number(topKEl.value) || 10)),
    }),
  };
}

export function evaluateView(): { el: HTMLElement } {
  const files = h('input', { type: 'file', id: 'eval-files', multiple: true, accept: '.json,.jsonl,.tsv' });
  const pasted = h('textarea', {
    id: 'eval-text',
    rows: 4,
    placeholder: '{"query":"…","relevant":["doc-id"]}',
  });
  const upload = h('input', { type: 'checkbox', id: 'eval-upload', checked: true });
  const a = settingForm('A', 'sparse', 10);
  const b = settingForm('B', 'hybrid', 10);
  const run = h('button', { type: 'submit', id: 'eval-run' }, 'Run evaluation');
  const status = h('p', { class: 'status', role: 'status', id: 'eval-status' });
  const results = h('div', { id: 'eval-results' });
  const target = h('strong', {}, state.collection);
  state.onCollection((c) => (target.textContent = c));
  const form = h(
    'form',
    { class: 'stack' },
    h(
      'label',
      { for: 'eval-files' },
      'Questions: JSON/JSONL, or a BEIR folder’s corpus.jsonl, queries.jsonl and qrels .tsv',
    ),
    files,
    h('label', { for: 'eval-text' }, 'or paste JSON/JSONL'),
    pasted,
    h(
      'div',
      { class: 'row' },
      upload,
      h('label', { for: 'eval-upload' }, 'Upload a BEIR corpus.jsonl into the collection first'),
    ),
    h('div', { class: 'two' }, a.el, b.el),
    run,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    run.disabled = true;
    void evaluate()
      .catch((error) => (status.textContent = message(error)))
      .finally(() => (run.disabled = false));
  });

  async function readSet(): Promise<EvalSet> {
    const picked = await Promise.all(
      [...(files.files ?? [])].map(async (f) => ({
        name: f.webkitRelativePath || f.name,
        text: await f.text(),
      })),
    );
    if (pasted.value.trim()) picked.push({ name: 'pasted', text: pasted.value });
    return parseEvalFiles(picked);
  }

  async function evaluate(): Promise<void> {
    results.replaceChildren();
    status.textContent = 'Reading the questions…';
    const set = await readSet();
    const collection = state.collection;
    if (set.corpus.length > 0 && upload.checked) await ingest(collection, set);
    const settings = [a.read(), b.read()];
    const scores: Scored[][] = [[], []];
    for (const [i, q] of set.queries.entries()) {
      status.textContent = `Searching ${i + 1}/${set.queries.length}…`;
      for (const [n, setting] of settings.entries()) scores[n].push(await score(collection, q, setting));
    }
    status.textContent = `${set.queries.length} questions, two settings, on ${collection}.`;
    fill(
      results,
      h('div', { class: 'scroll' }, summary(settings, scores)),
      plot(set.queries, scores),
      perQuery(set.queries, scores),
    );
  }

  async function ingest(collection: string, set: EvalSet): Promise<void> {
    for (let i = 0; i < set.corpus.length; i += BATCH) {
      status.textContent = `Uploading documents ${i + 1}-${Math.min(i + BATCH, set.corpus.length)} of ${set.corpus.length}…`;
      await postJson(`/rag/collections/${enc(collection)}/documents`, {
        documents: set.corpus.slice(i, i + BATCH),
      });
    }
    state.use(collection);
    for (;;) {
      const c = await getJson<{ documents: Record<string, number> }>(`/rag/collections/${enc(collection)}`);
      const pending = c.documents.queued + c.documents.processing;
      if (pending === 0) return;
      status.textContent = `Indexing: ${c.documents.indexed} indexed, ${pending} to go…`;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'eval-h' },
    h('h2', { id: 'eval-h' }, 'Evaluate'),
    h(
      'p',
      { class: 'hint' },
      'Search collection ',
      target,
      ' with each question under two settings and see how retrieval quality moves.',
    ),
    form,
    status,
    results,
  );
  return { el };
}

async function score(collection: string, q: EvalQuery, setting: Setting): Promise<Scored> {
  const { results } = await postJson<{ results: SearchHit[] }>('/rag/search', {
    collection,
    query: q.text,
    ...setting,
  });
  const ranked = documentRanking(results);
  return { ...queryMetrics(ranked, q.relevant), recallK: recallAt(ranked, q.relevant, setting.topK) };
}

function summary(settings: Setting[], scores: Scored[][]): HTMLElement {
  return h(
    'table',
    { id: 'eval-summary' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Setting', 'nDCG@10', 'Recall@10', 'Recall@k', 'MRR@10'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      ...settings.map((st, i) => {
        const m = meanMetrics(scores[i]);
        const recallK = scores[i].reduce((sum, x) => sum + x.recallK, 0) / (scores[i].length || 1);
        return h(
          'tr',
          { 'data-setting': 'AB'[i] },
          h('th', { scope: 'row' }, `${'AB'[i]}: ${st.mode}, k=${st.topK}`),
          h('td', { class: 'num ndcg' }, fmt(m.ndcg10)),
          h('td', { class: 'num' }, fmt(m.recall10)),
          h('td', { class: 'num' }, fmt(recallK)),
          h('td', { class: 'num' }, fmt(m.mrr10)),
        );
      }),
    ),
  );
}

/** Each question a row: A's and B's nDCG@10 as two dots on one 0-1 line, joined, largest change first. */
function plot(queries: EvalQuery[], scores: Scored[][]): SVGSVGElement {
  const order = queries
    .map((_, i) => i)
    .sort(
      (i, j) =>
        Math.abs(scores[1][j].ndcg10 - scores[0][j].ndcg10) -
        Math.abs(scores[1][i].ndcg10 - scores[0][i].ndcg10),
    );
  const shown = order.slice(0, 40);
  const w = 320;
  const rowH = 14;
  const x = (v: number) => 90 + v * (w - 100);
  const svg = s('svg', {
    viewBox: `0 0 ${w} ${shown.length * rowH + 24}`,
    width: w * 1.5,
    height: (shown.length * rowH + 24) * 1.5,
    class: 'dumbbell',
    id: 'eval-plot',
    role: 'img',
    'aria-label': 'nDCG@10 of each question under setting A (blue) and B (orange)',
  });
  for (const v of [0, 0.5, 1]) {
    svg.append(s('line', { x1: x(v), x2: x(v), y1: 4, y2: shown.length * rowH + 6, class: 'axis' }));
    svg.append(
      s('text', { x: x(v), y: shown.length * rowH + 18, 'text-anchor': 'middle', class: 'tick' }, String(v)),
    );
  }
  shown.forEach((qi, row) => {
    const y = 10 + row * rowH;
    const [va, vb] = [scores[0][qi].ndcg10, scores[1][qi].ndcg10];
    const label = queries[qi].text.length > 14 ? `${queries[qi].text.slice(0, 13)}…` : queries[qi].text;
    svg.append(
      s('text', { x: 2, y: y + 4, class: 'tick' }, label, s('title', {}, queries[qi].text)),
      s('line', { x1: x(va), x2: x(vb), y1: y, y2: y, class: vb >= va ? 'gain' : 'loss' }),
      s('circle', { cx: x(va), cy: y, r: 4, class: 'dot-a' }, s('title', {}, `A ${fmt(va)}`)),
      s('circle', { cx: x(vb), cy: y, r: 4, class: 'dot-b' }, s('title', {}, `B ${fmt(vb)}`)),
    );
  });
  return svg;
}

function perQuery(queries: EvalQuery[], scores: Scored[][]): HTMLElement {
  return h(
    'details',
    {},
    h('summary', {}, 'Per question'),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'eval-queries' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Question', 'Expected', 'nDCG@10 A', 'nDCG@10 B', 'change'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ...queries.map((q, i) => {
            const d = scores[1][i].ndcg10 - scores[0][i].ndcg10;
            return h(
              'tr',
              {},
              h('td', {}, q.text),
              h('td', {}, [...q.relevant.keys()].join(', ')),
              h('td', { class: 'num' }, fmt(scores[0][i].ndcg10)),
              h('td', { class: 'num' }, fmt(scores[1][i].ndcg10)),
              h(
                'td',
                { class: d > 0 ? 'num good' : d < 0 ? 'num bad' : 'num' },
                `${d > 0 ? '+' : ''}${fmt(d)}`,
              ),
            );
          }),
        ),
      ),
    ),
  );
}
