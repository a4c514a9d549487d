// Section 6 of docs/benchmarks.md: table sizes and process memory per scale.

import { fmt } from '../lib.mjs';
import { across, cell, mib, row, table } from './cells.mjs';
import { lexicalBytes } from './targets.mjs';

/**
 * Round one's figures (one row per posting in `chunk_terms`), from docs/benchmarks.md at 790b94e
 * (`npm run bench -- --scale 10k,100k --runs 2 --queries 200`, and one run at 1m): what the block index
 * replaced, set beside this run's.
 */
const ROUND_ONE = {
  '10k': { lexicalMiB: 103.4, sparseP50Ms: 4.7, hybridC8: 240, ingestion: 1208 },
  '100k': { lexicalMiB: 1396.5, sparseP50Ms: 46.4, hybridC8: 32, ingestion: 371 },
  '1m': { lexicalMiB: 14623.3, sparseP50Ms: 820.2, hybridC8: 2.5, ingestion: 625 },
};

/** The lexical index of this run beside round one's, and the published anchors. */
function againstRoundOne(scales) {
  const rows = scales
    .filter((s) => ROUND_ONE[s.scale])
    .map((s) => {
      const before = ROUND_ONE[s.scale];
      const search = (mode, c, f) => across(s.postgres, (r) => r.requests, '/rag/search', mode, c, f);
      const lexical = s.postgres.map((r) => mib(lexicalBytes(r.sizes)));
      return row([
        s.scale,
        `${fmt(before.lexicalMiB, 1)} → ${cell(lexical)}`,
        `${fmt(before.sparseP50Ms, 1)} → ${cell(search('sparse', 1, 'p50Ms'), 1)}`,
        `${fmt(before.hybridC8, before.hybridC8 < 10 ? 1 : 0)} → ${cell(search('hybrid', 8, 'requestsPerSecond'), 0)}`,
        `${fmt(before.ingestion)} → ${cell(
          s.postgres.map((r) => r.ingestion.chunksPerSecond),
          0,
        )}`,
      ]);
    });
  if (rows.length === 0) return [];
  return [
    "### The lexical index against round one's (one row per posting)",
    '',
    "Round one's figures from docs/benchmarks.md at 790b94e (2 runs at 10k and 100k, 1 at 1m; another 2-core machine), then this run's. " +
      'Published anchors, on other data and hardware, not measured here: pg_textsearch 1.0 on MS MARCO (8.8M passages) ' +
      'an index of 1,215 MB and p50 0.7 ms (1 term) to 19.9 ms (8+ terms); ParadeDB pg_search on the same data 1,503 MB, ' +
      '18-45 ms p50. At 1M chunks (1,020,424; a 1m run of this round, before the MaxScore rounds, the block cache and ' +
      'half-precision HNSW; see benchmarks-notes.md): the lexical index 564 MiB, sparse /rag/search p50 214 ms; ' +
      'on a 1M database filled through the API on 2026-12-08, measured by compare-builds.mjs with caches warm, ' +
      '58.7 ms, and hybrid 10 req/s at concurrency 8.',
    '',
    table(
      [
        'scale',
        'lexical index MiB',
        'sparse /rag/search p50 ms, concurrency 1',
        'hybrid /rag/search req/s, concurrency 8',
        'monolith ingestion chunks/s',
      ],
      ['l', 'r', 'r', 'r', 'r'],
      rows,
    ),
  ];
}

export function scaleSection(report) {
  const lines = ['## 6. Scale: corpus, sizes, memory', ''];
  const scales = report.scales.filter((s) => s.postgres?.length);
  if (scales.length === 0)
    return [...lines, 'Not run (needs scenario `search`, `query` or `distributed`).'].join('\n');
  lines.push(
    table(
      [
        'scale',
        'documents',
        'generated',
        'chunks',
        'monolith ingestion chunks/s (API, PostgreSQL)',
        'corpus SHA-256',
      ],
      ['l', 'r', 'r', 'r', 'r', 'l'],
      scales.map((s) =>
        row([
          s.scale,
          fmt(s.documents),
          fmt(s.generatedDocuments),
          fmt(s.postgres[0].ingestion.chunks),
          cell(
            s.postgres.map((r) => r.ingestion.chunksPerSecond),
            0,
          ),
          `\`${s.corpusSha256.slice(0, 16)}…\``,
        ]),
      ),
    ),
  );
  lines.push('', '### Table and index sizes (MiB, after ingestion)', '');
  const sizeRows = [];
  for (const s of scales) {
    for (const t of s.postgres[0].sizes.tables) {
      const pick = (f) =>
        s.postgres.map((r) => mib(r.sizes.tables.find((x) => x.table === t.table)?.[f] ?? NaN));
      sizeRows.push(
        row([
          s.scale,
          t.table,
          cell(pick('heap')),
          cell(pick('indexes')),
          cell(pick('toast')),
          cell(pick('total')),
        ]),
      );
    }
  }
  lines.push(
    table(['scale', 'table', 'heap', 'indexes', 'TOAST', 'total'], ['l', 'l', 'r', 'r', 'r', 'r'], sizeRows),
  );
  const indexRows = [];
  for (const s of scales) {
    for (const i of s.postgres[0].sizes.indexes) {
      indexRows.push(
        row([
          s.scale,
          i.table,
          `\`${i.index}\``,
          cell(s.postgres.map((r) => mib(r.sizes.indexes.find((x) => x.index === i.index)?.bytes ?? NaN))),
        ]),
      );
    }
  }
  lines.push('', table(['scale', 'table', 'index', 'MiB'], ['l', 'l', 'l', 'r'], indexRows));
  lines.push('', ...againstRoundOne(scales));
  lines.push(
    '',
    '### Process memory (RSS, MiB)',
    '',
    'Monolith: after ingestion, after the request runs, and its peak (VmHWM). Distributed: each process at start, after the request runs, and its peak.',
    '',
  );
  const memRows = [];
  for (const s of scales) {
    const groups = [
      ['monolith', (r) => r.memory],
      ['distributed', (r) => r.distributed?.memory],
    ];
    for (const [deployment, pick] of groups) {
      const first = pick(s.postgres[0]);
      for (const p of first ?? []) {
        const f = (field) =>
          s.postgres.map((r) => pick(r)?.find((m) => m.process === p.process)?.[field] ?? NaN);
        memRows.push(
          row([
            s.scale,
            deployment,
            p.process,
            cell(f('before'), 0),
            cell(f('after'), 0),
            cell(f('peak'), 0),
          ]),
        );
      }
    }
    for (const p of s.pglite?.[0]?.memory ?? []) {
      const f = (field) => s.pglite.map((r) => r.memory.find((m) => m.process === p.process)?.[field] ?? NaN);
      memRows.push(
        row([
          s.scale,
          'monolith on PGlite',
          p.process,
          cell(f('before'), 0),
          cell(f('after'), 0),
          cell(f('peak'), 0),
        ]),
      );
    }
  }
  lines.push(
    table(
      ['scale', 'deployment', 'process', 'after ingestion / at start', 'after requests', 'peak'],
      ['l', 'l', 'l', 'r', 'r', 'r'],
      memRows,
    ),
  );
  return lines.join('\n');
}
