/** Owns how a table row reads as one line of text: its cells, trimmed, apart by " | ". */
import { normalizeLabel } from '../../domain/normalization/text.normalizer.js';

/** The row as a line, or undefined when every cell is empty. */
export function rowLine(cells: (string | undefined)[]): string | undefined {
  const clean = cells.map((c) => normalizeLabel(c) ?? '');
  while (clean.length > 0 && clean[clean.length - 1] === '') clean.pop();
  return clean.some((c) => c !== '') ? clean.join(' | ') : undefined;
}
