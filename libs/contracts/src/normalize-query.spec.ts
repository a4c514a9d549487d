import { describe, expect, it } from 'vitest';
import { normalizeQuery } from './normalize-query.js';

describe('normalizeQuery', () => {
  it('collapses white space and trims', () => {
    expect(normalizeQuery('  what   is\n\tvitamin D?  ')).toBe('what is vitamin D?');
  });

  it('folds compatibility forms and drops control and zero-width characters', () => {
    expect(normalizeQuery('ＡＢＣ\u200b１２３\u0007')).toBe('ABC123');
  });

  it('keeps case and punctuation for the retrievers to analyse', () => {
    expect(normalizeQuery('IL-6 and TNF-α?')).toBe('IL-6 and TNF-α?');
  });
});
