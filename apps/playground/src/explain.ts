import { fmt, h, s } from './dom.js';
import type { Citation, QueryResponse as Answer, QueryTimings } from '#contracts';

/**
 * Why each source was chosen: the query as each retriever saw it, each source's rank in every retriever,
 * the fusion and the re-ranking as a slope chart (one line per source, rank 1 at the top) with the
 * numbers in a table beside it, the stages' timings as a waterfall, and every degraded stage said plainly.
 */
const DEGRADED: Record<string, string> = {
  understanding: 'query understanding failed: the question was searched as typed',
  'query-understanding': 'query understanding failed: the question was searched as typed',
  dense: 'the vector search failed: BM25 answered alone',
  sparse: 'the BM25 search failed: vectors answered alone',
  rerank: 'the re-ranker failed: the fused order was kept',
  generation: 'the model failed: the answer is the extractive one, made from the sources',
  presentation: 'presentation failed: citations were not checked',
};

interface Stage {
  label: string;
  rank: (c: Citation) => number | null | undefined;
  score: (c: Citation) => number | null | undefined;
}

function stages(a: Answer): Stage[] {
  const x = a.explain!;
  const out: Stage[] = [];
  x.searches.forEach((search, v) => {
    const prefix = x.searches.length > 1 ? `v${v + 1} ` : '';
    const at = (c: Citation) => c.explain?.variants.find((e) => e.variant === v);
    for (const r of Object.keys(search.retrievers))
      out.push({
        label: `${prefix}${r}`,
        rank: (c) => at(c)?.retrievers[r]?.rank,
        score: (c) => at(c)?.retrievers[r]?.score,
      });
    if (search.fusion)
      out.push({
        label: `${prefix}fused`,
        rank: (c) => at(c)?.fused?.rank,
        score: (c) => at(c)?.fused?.score,
      });
  });
  if (x.fusion)
    out.push({
      label: 'variants fused',
      rank: (c) => c.explain?.fused?.rank,
      score: (c) => c.explain?.fused?.score,
    });
  out.push({ label: 'before re-rank', rank: (c) => c.explain?.reranked?.before, score: () => null });
  out.push({
    label: 're-ranked',
    rank: (c) => c.explain?.reranked?.rank ?? c.index,
    score: (c) => c.explain?.reranked?.score ?? c.score,
  });
  return out;
}

const COLORS = ['#1d4ed8', '#b45309', '#047857', '#9333ea', '#be123c', '#0e7490', '#4d7c0f', '#a21caf'];

function chart(a: Answer, cols: Stage[]): SVGSVGElement {
  const ranks = a.citations.flatMap((c) => cols.map((col) => col.rank(c) ?? 0));
  const maxRank = Math.max(3, ...ranks);
  const w = 60 + cols.length * 70;
  const height = 30 + Math.min(maxRank, 30) * 14;
  const x = (i: number) => 40 + i * 70;
  const y = (rank: number) =>
    20 + ((Math.min(rank, 30) - 1) / Math.max(1, Math.min(maxRank, 30) - 1)) * (height - 40);
  const svg = s('svg', {
    viewBox: `0 0 ${w} ${height}`,
    width: w * 1.4,
    height: height * 1.4,
    class: 'slope',
    role: 'img',
    'aria-label': 'Rank of each source at each stage, rank 1 at the top; the table below has the numbers',
  });
  cols.forEach((col, i) => {
    svg.append(s('line', { x1: x(i), x2: x(i), y1: 12, y2: height - 12, class: 'axis' }));
    svg.append(s('text', { x: x(i), y: height - 1, 'text-anchor': 'middle', class: 'tick' }, col.label));
  });
  svg.append(s('text', { x: 4, y: y(1) + 4, class: 'tick' }, '#1'));
  svg.append(
    s('text', { x: 4, y: y(Math.min(maxRank, 30)) + 4, class: 'tick' }, `#${Math.min(maxRank, 30)}`),
  );
  a.citations.forEach((c, n) => {
    const color = COLORS[n % COLORS.length];
    const points = cols
      .map((col, i) => [i, col.rank(c)] as const)
      .filter((p): p is readonly [number, number] => typeof p[1] === 'number');
    if (points.length > 1)
      svg.append(
        s('polyline', {
          points: points.map(([i, r]) => `${x(i)},${y(r)}`).join(' '),
          stroke: color,
          class: 'line',
        }),
      );
    for (const [i, r] of points)
      svg.append(
        s(
          'circle',
          { cx: x(i), cy: y(r), r: 3.5, fill: color },
          s('title', {}, `[${c.index}] ${cols[i].label}: #${r}`),
        ),
      );
    const last = points.at(-1);
    if (last)
      svg.append(
        s('text', { x: x(last[0]) + 7, y: y(last[1]) + 4, fill: color, class: 'tick' }, `[${c.index}]`),
      );
  });
  return svg;
}

function table(a: Answer, cols: Stage[]): HTMLElement {
  const cell = (c: Citation, col: Stage) => {
    const rank = col.rank(c);
    const score = col.score(c);
    return h(
      'td',
      { class: 'num' },
      rank === null || rank === undefined ? 'missed' : `#${rank}`,
      score === null || score === undefined ? '' : h('small', {}, ` ${fmt(score)}`),
    );
  };
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'explain-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Source'),
          ...cols.map((col) => h('th', { scope: 'col' }, col.label)),
        ),
      ),
      h(
        'tbody',
        {},
        ...a.citations.map((c) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, `[${c.index}] ${c.title ?? c.documentId}`),
            ...cols.map((col) => cell(c, col)),
          ),
        ),
      ),
    ),
  );
}

const STAGES: [keyof QueryTimings, string][] = [
  ['understandMs', 'understand'],
  ['retrieveMs', 'retrieve'],
  ['rerankMs', 'rerank'],
  ['generateMs', 'generate'],
  ['presentMs', 'present'],
];

/** The stages one after the other, each bar as long as it took; `firstTokenMs` is marked as seen here. */
export function waterfall(timings: QueryTimings, degraded: string[], firstTokenMs?: number): HTMLElement {
  const total = Math.max(
    timings.totalMs ?? 0,
    STAGES.reduce((t, [k]) => t + (timings[k] ?? 0), 0),
    1,
  );
  let start = 0;
  const rows = STAGES.filter(([k]) => typeof timings[k] === 'number').map(([k, label]) => {
    const ms = timings[k];
    const bar = h('span', {
      class: degraded.some((d) => label.startsWith(d.slice(0, 5))) ? 'bar degraded' : 'bar',
    });
    bar.style.marginLeft = `${(start / total) * 100}%`;
    bar.style.width = `${Math.max(0.5, (ms / total) * 100)}%`;
    start += ms;
    return h(
      'li',
      {},
      h('span', { class: 'stage' }, label),
      h('span', { class: 'track' }, bar),
      h('span', { class: 'ms' }, `${fmt(ms, 1)} ms`),
    );
  });
  return h(
    'div',
    { class: 'waterfall' },
    h('ul', { 'aria-label': 'stage timings' }, ...rows),
    h(
      'p',
      { class: 'hint' },
      `total ${fmt(timings.totalMs, 1)} ms on the server`,
      firstTokenMs !== undefined ? ` · first token after ${fmt(firstTokenMs, 0)} ms in this browser` : '',
    ),
  );
}

export function degradedNotice(degraded: string[], a?: Answer): HTMLElement | null {
  const legs = a?.explain?.searches.flatMap((x) => x.degraded ?? []) ?? [];
  const all = [...new Set([...degraded, ...legs, ...(a?.explain?.rerank.degraded ? ['rerank'] : [])])];
  if (all.length === 0) return null;
  return h(
    'div',
    { class: 'degraded', role: 'note' },
    h('strong', {}, 'Degraded: '),
    h(
      'ul',
      {},
      ...all.map((d) => h('li', {}, h('code', {}, d), ` ${DEGRADED[d] ?? 'this stage fell back'}`)),
    ),
  );
}

export function explainPanel(a: Answer, firstTokenMs?: number): HTMLElement {
  const x = a.explain;
  if (!x) return h('p', {}, 'No explain in this answer.');
  const cols = stages(a);
  const q = x.query;
  return h(
    'div',
    { class: 'explain' },
    degradedNotice(a.degraded, a),
    h('h4', {}, 'The query as each retriever saw it'),
    h(
      'dl',
      { class: 'kv' },
      h('dt', {}, 'asked'),
      h('dd', {}, q.original),
      h('dt', {}, 'searched'),
      h('dd', {}, q.text, h('small', {}, ` (${q.language})`)),
      ...x.searches.flatMap((search, v) => [
        h('dt', {}, `variant ${v + 1}`),
        h(
          'dd',
          {},
          h('span', { class: 'pill' }, q.variants[v]?.kind ?? ''),
          ` ${q.variants[v]?.text ?? ''} · ${search.mode}`,
          search.retrievers.sparse &&
            h(
              'div',
              {},
              'BM25 terms: ',
              ...search.retrievers.sparse.terms.map((t) =>
                h('code', { class: 'term' }, t.weight === 1 ? t.term : `${t.term}×${t.weight}`),
              ),
            ),
          search.retrievers.dense &&
            h(
              'div',
              {},
              `vectors: ${search.retrievers.dense.model} (${search.retrievers.dense.dimensions} dimensions)`,
            ),
          search.fusion &&
            h(
              'div',
              {},
              `fusion: ${search.fusion.method} ${Object.entries(search.fusion.weights)
                .map(([k, w]) => `${k} ${w}`)
                .join(', ')}${search.fusion.k ? ` k=${search.fusion.k}` : ''}`,
            ),
        ),
      ]),
      h('dt', {}, 're-ranker'),
      h('dd', {}, x.rerank.provider, x.rerank.degraded ? ' (failed)' : ''),
    ),
    h('h4', {}, 'Where each source ranked'),
    chart(a, cols),
    table(a, cols),
    h('h4', {}, 'Stage timings'),
    waterfall(a.timings, a.degraded, firstTokenMs),
  );
}
