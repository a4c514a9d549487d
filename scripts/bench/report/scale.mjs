// Section 6 of docs/benchmarks.md: table sizes and process memory per scale.

import { fmt } from '../lib.mjs';
import { cell, mib, row, table } from './cells.mjs';

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
