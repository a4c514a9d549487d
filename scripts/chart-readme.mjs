#!/usr/bin/env node
// Renders the values table of charts/ragnest/README.md from values.yaml: each key with a "# --" comment
// above it (helm-docs' convention; the comment may go on over more "#" lines) becomes a row with its type,
// its default and that comment. The table sits between <!-- values:start --> and <!-- values:end -->.
//   node scripts/chart-readme.mjs           rewrites the README
//   node scripts/chart-readme.mjs --check   exits 1 if the README is not current (the chart test runs it)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const CHART = join(dirname(fileURLToPath(import.meta.url)), '..', 'charts', 'ragnest');
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';

export function valuesRows(text) {
  const values = parse(text);
  const rows = [];
  const stack = []; // [{ indent, key }]
  let description;
  for (const line of text.split('\n')) {
    const doc = /^\s*# -- ?(.*)$/.exec(line);
    if (doc) {
      description = [doc[1]];
      continue;
    }
    const more = /^\s*#(?: (.*))?$/.exec(line);
    if (more) {
      if (description) description.push(more[1] ?? '');
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_.-]+):(?:\s|$)/.exec(line);
    if (!key) continue;
    const indent = key[1].length;
    while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
    stack.push({ indent, key: key[2] });
    if (description) {
      const path = stack.map((s) => s.key);
      const value = path.reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), values);
      rows.push({ key: path.join('.'), value, description: description.join(' ').trim() });
      description = undefined;
    }
  }
  return rows;
}

function typeOf(value) {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

const cell = (s) => s.replace(/\|/g, '\\|');

export function valuesTable(text) {
  const lines = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const row of valuesRows(text)) {
    const json = JSON.stringify(row.value);
    // A large block (the per-context settings) is read better in values.yaml than as one line of JSON.
    const value = json.length > 120 ? 'see values.yaml' : `\`${cell(json)}\``;
    lines.push(`| \`${row.key}\` | ${typeOf(row.value)} | ${value} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

export function renderReadme(readme, values) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`the chart README needs ${START} … ${END} around its values table`);
  return `${readme.slice(0, start + START.length)}\n${valuesTable(values)}\n${readme.slice(end)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = join(CHART, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const next = renderReadme(readme, readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('charts/ragnest/README.md is stale: run `node scripts/chart-readme.mjs`');
      process.exit(1);
    }
  } else {
    writeFileSync(file, next);
  }
}
