import { describe, expect, it } from 'vitest';
import { splitSentences } from './sentence.splitter.js';

describe('splitSentences', () => {
  it('splits on terminal punctuation followed by a new sentence', () => {
    expect(splitSentences('Paris is large. Is it old? Yes! It is.')).toEqual([
      'Paris is large.',
      'Is it old?',
      'Yes!',
      'It is.',
    ]);
  });

  it('does not split inside abbreviations, initials or decimals', () => {
    const text =
      'Results, e.g. recall, are in Fig. 3 and reach 3.5 points. Smith et al. (2020) agree with J. R. Tolkien. ' +
      'Dr. Who came i.e. Later. It costs approx. five dollars vs. six.';
    expect(splitSentences(text)).toEqual([
      'Results, e.g. recall, are in Fig. 3 and reach 3.5 points.',
      'Smith et al. (2020) agree with J. R. Tolkien.',
      'Dr. Who came i.e. Later.',
      'It costs approx. five dollars vs. six.',
    ]);
  });

  it('keeps closing quotes and brackets with their sentence', () => {
    expect(splitSentences('He said "stop." Then he left (quickly.) Done')).toEqual([
      'He said "stop."',
      'Then he left (quickly.)',
      'Done',
    ]);
  });

  it('breaks at blank lines, list items and after headings, dropping their markers', () => {
    const text = '# Install\nRun the script\n\nThen wait\r\n- first step\n* second step\n2. third step';
    expect(splitSentences(text)).toEqual([
      'Install',
      'Run the script',
      'Then wait',
      'first step',
      'second step',
      'third step',
    ]);
  });

  it('joins wrapped lines and collapses white space', () => {
    expect(splitSentences('  A sentence\nwrapped   over\tlines.  ')).toEqual([
      'A sentence wrapped over lines.',
    ]);
  });

  it('returns nothing for blank text', () => {
    expect(splitSentences(' \n\n ')).toEqual([]);
  });
});
