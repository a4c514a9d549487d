import { describe, expect, it } from 'vitest';
import { englishAnalyzer } from '#text-analysis';
import { TITLE_WEIGHT, chunkTerms } from './indexed-terms.js';

describe('chunkTerms', () => {
  it('counts the title terms TITLE_WEIGHT times before the chunk text terms', () => {
    const title = englishAnalyzer.terms('Running dogs');
    const terms = chunkTerms(title, 'The dogs bark');
    expect(terms.filter((t) => t === 'run')).toHaveLength(TITLE_WEIGHT);
    expect(terms.filter((t) => t === 'dog')).toHaveLength(TITLE_WEIGHT + 1);
    expect(terms.slice(-2)).toEqual(['dog', 'bark']);
  });

  it('is the text terms alone for a document without a title', () => {
    expect(chunkTerms([], 'The dogs bark')).toEqual(englishAnalyzer.terms('The dogs bark'));
  });
});
