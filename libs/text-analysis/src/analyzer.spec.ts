import { describe, expect, it } from 'vitest';
import { englishAnalyzer, forEachEnglishToken, termFrequencies } from './analyzer.js';

const terms = (text: string) => englishAnalyzer.terms(text);

describe('englishAnalyzer', () => {
  it('is named, so indexes can record which analysis built them', () => {
    expect(englishAnalyzer.name).toBe('english-v1');
  });

  it('lower-cases and Porter-stems, keeping order and duplicates', () => {
    expect(terms('Running runners RUN; the dogs ran')).toEqual(['run', 'runner', 'run', 'dog', 'ran']);
    expect(terms('relational generalizations happily ponies caresses')).toEqual([
      'relat',
      'gener',
      'happili',
      'poni',
      'caress',
    ]);
    expect(terms('connect connected connecting connection connections')).toEqual(Array(5).fill('connect'));
  });

  it("removes exactly Lucene's 33 classic English stop words", () => {
    const stop =
      'a an and are as at be but by for if in into is it no not of on or such that the their then there ' +
      'these they this to was will with';
    expect(stop.split(' ')).toHaveLength(33);
    expect(terms(stop)).toEqual([]);
    expect(terms(stop.toUpperCase())).toEqual([]);
    // Common words outside that set stay: the classic list is deliberately short.
    expect(terms('what about we')).toEqual(['what', 'about', 'we']);
    expect(terms('The cat is on the mat')).toEqual(['cat', 'mat']);
  });

  it('splits on punctuation and symbols, dropping single non-digit characters', () => {
    expect(terms('IL-6 levels')).toEqual(['il', '6', 'level']);
    expect(terms("don't stop John's state-of-the-art work")).toEqual([
      'don',
      'stop',
      'john',
      'state',
      'art',
      'work',
    ]);
    expect(terms('x = y + z; a/b')).toEqual([]);
    expect(terms('e-mail: user@example.com, https://example.org/path?q=1')).toEqual([
      'mail',
      'user',
      'exampl',
      'com',
      'http',
      'exampl',
      'org',
      'path',
      '1',
    ]);
  });

  it('keeps numbers, including single digits and mixed letter-digit words', () => {
    expect(terms('In 2023, 7 of 10 GPUs had 80GB (v1.2)')).toEqual([
      '2023',
      '7',
      '10',
      'gpu',
      'had',
      '80gb',
      'v1',
      '2',
    ]);
    expect(terms('3.14159')).toEqual(['3', '14159']);
    expect(terms('١٢٣ ٣')).toEqual(['١٢٣', '٣']);
  });

  it('folds diacritics and applies NFKC compatibility forms', () => {
    expect(terms('Café naïve résumé')).toEqual(terms('cafe naive resume'));
    expect(terms('Ærø Straße Łódź İstanbul')).toEqual(['aero', 'strass', 'lodz', 'istanbul']);
    // ligature, full-width letters and digits, superscript
    expect(terms('ﬁnancial ＡＢＣ １２３ x²')).toEqual(['financi', 'abc', '123', 'x2']);
    // precomposed and decomposed forms analyse the same
    expect(terms('e\u0301te\u0301')).toEqual(terms('\u00e9t\u00e9'));
  });

  it('keeps non-Latin scripts whole, including their combining vowel signs', () => {
    expect(terms('Москва Ἀθῆναι')).toEqual(['москва', 'αθηναι']);
    expect(terms('हिन्दी भाषा')).toEqual(['हिन्दी', 'भाषा']);
    expect(terms('a😀b emoji😀word 𠀀𠀁')).toEqual(['emoji', 'word', '𠀀𠀁']);
  });

  it('drops tokens longer than 64 characters', () => {
    expect(terms(`${'x'.repeat(64)} ${'y'.repeat(65)} ok`)).toEqual(['x'.repeat(64), 'ok']);
  });

  it('returns nothing for empty, blank or punctuation-only input', () => {
    expect(terms('')).toEqual([]);
    expect(terms(' \n\t ')).toEqual([]);
    expect(terms('--- ... !!! ???')).toEqual([]);
  });

  it('is deterministic and stateless across calls', () => {
    const text = 'Vector databases index embeddings; BM25 indexes terms.';
    const first = terms(text);
    for (let i = 0; i < 3; i++) expect(terms(text)).toEqual(first);
  });

  it('analyses a few MB of text quickly', () => {
    const vocabulary = [
      'retrieval', 'augmented', 'generation', 'combines', 'search', 'with', 'language', 'models', 'the',
      'index', 'stores', 'chunks', 'of', 'documents', 'and', 'their', 'embeddings', 'queries', 'are',
      'analysed', 'ranked', 'by', 'BM25', 'scores', '2024', 'naïve', 'résumé', 'state-of-the-art',
    ]; // prettier-ignore
    const words: string[] = [];
    let seed = 42;
    for (let i = 0; i < 400_000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      words.push(vocabulary[(seed >>> 16) % vocabulary.length]);
    }
    const text = words.join(' ');
    expect(text.length).toBeGreaterThan(2_500_000);
    const started = performance.now();
    const result = terms(text);
    const elapsed = performance.now() - started;
    expect(result.length).toBeGreaterThan(300_000);
    // ~0.2 s on the 2-core reference machine; the bound only catches an accidental order-of-magnitude slip.
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('forEachEnglishToken', () => {
  it('reports the unstemmed, normalised word beside its term', () => {
    const seen: [string, string][] = [];
    forEachEnglishToken('The Résumés were IMPROVING', (word, term) => seen.push([word, term]));
    expect(seen).toEqual([
      ['resumes', 'resum'],
      ['were', 'were'],
      ['improving', 'improv'],
    ]);
  });
});

describe('termFrequencies', () => {
  it('counts each term', () => {
    expect(termFrequencies(['run', 'dog', 'run', 'run'])).toEqual(
      new Map([
        ['run', 3],
        ['dog', 1],
      ]),
    );
    expect(termFrequencies([])).toEqual(new Map());
  });

  it('pairs with the analyzer', () => {
    expect(termFrequencies(terms('Index the index; indexing indexes.')).get('index')).toBe(4);
  });
});
