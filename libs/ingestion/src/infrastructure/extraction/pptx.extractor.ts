/**
 * Owns reading a PowerPoint (.pptx) file slide by slide, in the order the presentation lists them: each
 * slide's paragraphs become one section carrying its slide number, so a chunk never mixes two slides.
 * Speaker notes are left out. Title and author come from the package's core properties.
 */
import { normalizeText } from '../../domain/normalization/text.normalizer.js';
import { UnreadableFileError } from './extraction.errors.js';
import type { ExtractedText, ProseSection } from './extraction.types.js';
import { coreProperties, openPackage, parseXml, textOf, type OoxmlPackage } from './ooxml.package.js';

const LABEL = '.pptx';

export async function extractPptx(bytes: Uint8Array): Promise<ExtractedText> {
  const pkg = await openPackage(bytes, LABEL);
  const paths = await slidePaths(pkg);
  const core = await coreProperties(pkg, LABEL);
  const sections: ProseSection[] = [];
  for (const [i, path] of paths.entries()) {
    const slide = await pkg.part(path);
    if (slide === undefined) throw new UnreadableFileError(`The ${LABEL} file lists ${path} but lacks it`);
    const paragraphs: string[] = [];
    collectParagraphs(parseXml(slide, LABEL, path), paragraphs);
    const text = normalizeText(paragraphs.join('\n'));
    if (text !== '') sections.push({ kind: 'prose', text, metadata: { slide: i + 1 } });
  }
  const title = core.title ?? firstLine(sections[0]?.text);
  return {
    text: sections.map((s) => s.text).join('\n\n'),
    ...(title === undefined ? {} : { title }),
    metadata: { ...core.metadata, slides: paths.length },
    sections,
  };
}

/** The slides' part paths in presentation order (p:sldIdLst, resolved through the relationships). */
async function slidePaths(pkg: OoxmlPackage): Promise<string[]> {
  const presentation = await pkg.part('ppt/presentation.xml');
  if (presentation === undefined)
    throw new UnreadableFileError(`The ${LABEL} file has no ppt/presentation.xml: it is not a presentation`);
  const rels = await pkg.part('ppt/_rels/presentation.xml.rels');
  const targets = new Map<string, string>();
  if (rels !== undefined) {
    const root = parseXml(rels, LABEL, 'ppt/_rels/presentation.xml.rels').Relationships as
      Record<string, unknown> | undefined;
    for (const r of list(root?.Relationship) as Record<string, string>[])
      if (r['@Id'] && r['@Target']) targets.set(r['@Id'], r['@Target']);
  }
  const root = parseXml(presentation, LABEL, 'ppt/presentation.xml')['p:presentation'] as
    Record<string, unknown> | undefined;
  const ids = list((root?.['p:sldIdLst'] as Record<string, unknown> | undefined)?.['p:sldId']) as Record<
    string,
    string
  >[];
  return ids.flatMap((id) => {
    const target = targets.get(id['@r:id']);
    if (target === undefined) return [];
    return [target.startsWith('/') ? target.slice(1) : `ppt/${target.replace(/^\.\//, '')}`];
  });
}

/** Every a:p (DrawingML paragraph) under `node`, in document order, as the text of its runs. */
function collectParagraphs(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectParagraphs(item, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'a:p') for (const p of list(value)) out.push(runsText(p));
    else if (!key.startsWith('@')) collectParagraphs(value, out);
  }
}

function runsText(node: unknown): string {
  if (Array.isArray(node)) return node.map(runsText).join('');
  if (!node || typeof node !== 'object') return '';
  let text = '';
  for (const [key, value] of Object.entries(node)) {
    if (key === 'a:t')
      text += list(value)
        .map((v) => textOf(v) ?? '')
        .join('');
    else if (key === 'a:br') text += ' ';
    else if (!key.startsWith('@')) text += runsText(value);
  }
  return text;
}

function list(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n', 1)[0] || undefined;
}
