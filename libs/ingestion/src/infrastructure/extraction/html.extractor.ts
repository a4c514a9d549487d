/**
 * Owns reading an HTML file: its visible prose without markup, link targets, images, scripts or styles,
 * and its title (the <title>, else the first <h1>).
 */
import { compile, type SelectorDefinition } from 'html-to-text';
import { normalizeLabel, normalizeText } from '../../domain/normalization/text.normalizer.js';
import type { ExtractedText } from './extraction.types.js';
import { decodeText } from './text.decoder.js';

const NOT_PROSE = [
  'head',
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'canvas',
  'iframe',
  'object',
  'img',
];
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

const SHARED_SELECTORS: SelectorDefinition[] = [
  ...NOT_PROSE.map((selector) => ({ selector, format: 'skip' })),
  // Keep the link text, drop the "[url]" that would follow it.
  { selector: 'a', options: { ignoreHref: true } },
  // Upper-casing (the default) would lose the case of headings.
  ...HEADINGS.map((selector) => ({ selector, options: { uppercase: false } })),
  // A table reads as one line per row, cells apart. The table formatters would either run the cells
  // together or wrap long cells across lines, interleaving the prose of layout tables.
  { selector: 'table', format: 'block' },
  { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
  { selector: 'th', format: 'inlineSurround', options: { suffix: ' ' } },
  { selector: 'td', format: 'inlineSurround', options: { suffix: ' ' } },
];

// The default limit truncates larger input with a console warning; an accepted upload is read whole.
const NO_INPUT_LIMIT = { maxInputLength: Number.POSITIVE_INFINITY };

const toText = compile({
  wordwrap: false,
  limits: NO_INPUT_LIMIT,
  // A fragment without <body> is read whole, and a bare <title> in it is not prose.
  selectors: [...SHARED_SELECTORS, { selector: 'title', format: 'skip' }],
});

const toTitleCandidates = compile({
  wordwrap: false,
  limits: { ...NO_INPUT_LIMIT, maxBaseElements: 2 },
  baseElements: { selectors: ['title', 'h1'], orderBy: 'selectors', returnDomByDefault: false },
  selectors: [...SHARED_SELECTORS, { selector: 'title', format: 'block' }],
});

export function extractHtml(bytes: Uint8Array): ExtractedText {
  const html = decodeText(bytes, declaredCharset(bytes));
  const text = normalizeText(toText(html));
  const title = firstLine(toTitleCandidates(html));
  return title === undefined ? { text } : { text, title };
}

function firstLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const label = normalizeLabel(line);
    if (label !== undefined) return label;
  }
  return undefined;
}

const META_CHARSET = /<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i;

/**
 * The encoding a <meta> declares in the first 1024 bytes, as browsers look for it; UTF-8 when it is
 * absent, unknown to the decoder, or a UTF-16 (which a <meta> readable as ASCII cannot truthfully be).
 */
function declaredCharset(bytes: Uint8Array): string {
  const head = new TextDecoder('windows-1252').decode(bytes.subarray(0, 1024));
  const label = META_CHARSET.exec(head)?.[1];
  if (label === undefined) return 'utf-8';
  try {
    const encoding = new TextDecoder(label).encoding;
    return encoding.startsWith('utf-16') ? 'utf-8' : encoding;
  } catch {
    return 'utf-8';
  }
}
