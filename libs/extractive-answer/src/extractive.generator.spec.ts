import { NO_SOURCES_ANSWER, UNANSWERABLE_ANSWER, type GenerationSource } from '#contracts';
import { stemmer } from 'stemmer';
import { describe, expect, it } from 'vitest';
import type { Analyzer } from '#text-analysis';
import { ExtractiveGenerator } from './extractive.generator.js';

const STOP_WORDS = new Set(
  'a an and are as at be by do does for from how in is it of on or the to was what when where which who why with'.split(
    ' ',
  ),
);

/** Stands in for the platform's English analyzer, so these tests do not move with its tuning. */
const analyzer: Analyzer = {
  name: 'test-english',
  terms: (text) =>
    (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
      .filter((t) => !STOP_WORDS.has(t))
      .map((t) => stemmer(t)),
};

const source = (index: number, text: string, title: string | null = null): GenerationSource => ({
  index,
  title,
  text,
});
const generator = new ExtractiveGenerator({ analyzer });

describe('ExtractiveGenerator', () => {
  it('answers with the sentence that supports the question, cited by its source index', async () => {
    const response = await generator.generate({
      query: 'When was the Eiffel Tower built?',
      sources: [
        source(1, 'Paris is the capital of France. It has many museums and parks.'),
        source(
          2,
          'The Eiffel Tower was built between 1887 and 1889. It is 330 metres tall. Tourists love Paris.',
        ),
      ],
    });
    expect(response).toEqual({
      model: 'extractive-v1',
      answer: 'The Eiffel Tower was built between 1887 and 1889. [2]',
    });
  });

  it('cites each sentence with the index of its own source and orders them by source then position', async () => {
    const { answer } = await generator.generate({
      query: 'How do photosynthesis and chlorophyll work in plants?',
      sources: [
        source(4, 'Weather is unrelated here. Chlorophyll absorbs light in plants, mostly blue and red.'),
        source(7, 'Photosynthesis converts light into chemical energy in plants.'),
      ],
    });
    expect(answer).toBe(
      'Chlorophyll absorbs light in plants, mostly blue and red. [4] ' +
        'Photosynthesis converts light into chemical energy in plants. [7]',
    );
  });

  it('weighs rare query terms above ones every sentence shares', async () => {
    const { answer } = await generator.generate({
      query: 'rust borrow checker',
      sources: [
        source(1, 'Rust is a language. Rust has a fast compiler. Rust is popular.'),
        source(2, 'The borrow checker enforces ownership rules at compile time.'),
      ],
    });
    expect(answer.startsWith('The borrow checker enforces ownership rules at compile time. [2]')).toBe(true);
  });

  it('skips near-duplicate sentences, as overlapping chunks repeat text', async () => {
    const sentence = 'The mitochondria produce most of the energy of the cell.';
    const { answer } = await generator.generate({
      query: 'What produces the energy of the cell?',
      sources: [
        source(1, sentence),
        source(2, `${sentence} Cells divide.`),
        source(3, 'The mitochondria produce most energy of the cell!'),
      ],
    });
    expect(answer).toBe(`${sentence} [1]`);
  });

  it('keeps at most maxSentences sentences and the answer within maxChars', async () => {
    const texts = [
      'Glaciers melt faster as summers warm across the Alps.',
      'Meltwater from a glacier feeds rivers during dry months.',
      'A melting glacier raises sea levels slowly but steadily.',
      'Scientists measure how quickly each glacier will melt using satellites.',
      'When a glacier melts, the exposed rock darkens and absorbs more heat.',
    ];
    const sources = texts.map((text, i) => source(i + 1, text));
    const two = await new ExtractiveGenerator({ analyzer, maxSentences: 2 }).generate({
      query: 'glacier melts',
      sources,
    });
    expect(two.answer.match(/\[\d+\]/g)).toHaveLength(2);
    const three = await generator.generate({ query: 'glacier melts', sources });
    expect(three.answer.match(/\[\d+\]/g)).toHaveLength(3);

    const short = await new ExtractiveGenerator({ analyzer, maxSentences: 6, maxChars: 120 }).generate({
      query: 'glacier melts',
      sources,
    });
    expect(short.answer.length).toBeLessThanOrEqual(120);
    expect(short.answer.match(/\[\d+\]/g)).toHaveLength(2);
  });

  it('truncates a lone best sentence longer than the cap instead of answering nothing', async () => {
    const long = `The reactor design ${'uses many redundant safety systems and '.repeat(30)}passive cooling.`;
    const { answer } = await new ExtractiveGenerator({ analyzer, maxChars: 200 }).generate({
      query: 'reactor design',
      sources: [source(1, long)],
    });
    expect(answer.length).toBeLessThanOrEqual(200);
    expect(answer).toMatch(/^The reactor design uses .*… \[1\]$/);
  });

  it('keeps abbreviations and decimals inside the quoted sentence', async () => {
    const { answer } = await generator.generate({
      query: 'What accuracy did the model reach?',
      sources: [
        source(
          1,
          'See Fig. 2 for details. As shown by Smith et al. in Fig. 3, the model reached 97.5 accuracy, e.g. on MNIST.',
        ),
      ],
    });
    expect(answer).toBe(
      'As shown by Smith et al. in Fig. 3, the model reached 97.5 accuracy, e.g. on MNIST. [1]',
    );
  });

  it('drops citation markers the source text already carries', async () => {
    const { answer } = await generator.generate({
      query: 'Where is Mount Everest?',
      sources: [source(3, 'Mount Everest lies in the Himalayas [12][13]. It is high.')],
    });
    expect(answer).toBe('Mount Everest lies in the Himalayas. [3]');
  });

  it('says so honestly when no sentence shares a term with the question', async () => {
    const response = await generator.generate({
      query: 'Who won the 1998 football world cup?',
      sources: [source(1, 'Bread is baked from flour and water.')],
    });
    expect(response.answer).toBe(UNANSWERABLE_ANSWER);
    expect(response.answer).not.toMatch(/\[\d+\]/);
  });

  it('says that no sources were found when there are none', async () => {
    expect((await generator.generate({ query: 'anything at all', sources: [] })).answer).toBe(
      NO_SOURCES_ANSWER,
    );
  });

  it('is deterministic, whatever the order the sources arrive in', async () => {
    const sources = [
      source(2, 'Solar panels convert sunlight to electricity. Panels last decades.'),
      source(1, 'Wind turbines convert wind to electricity. Turbines are tall.'),
      source(3, 'Electricity is stored in batteries.'),
    ];
    const query = 'How is electricity produced from sunlight or wind?';
    const first = await generator.generate({ query, sources });
    for (let i = 0; i < 5; i++) expect(await generator.generate({ query, sources })).toEqual(first);
    expect(await generator.generate({ query, sources: [...sources].reverse() })).toEqual(first);
    expect(first.answer).toBe(
      'Wind turbines convert wind to electricity. [1] Solar panels convert sunlight to electricity. [2]',
    );
  });

  it('rejects when the request is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      generator.generate({ query: 'q', sources: [source(1, 'q.')] }, controller.signal),
    ).rejects.toThrow();
  });

  it('streams its answer in word pieces that join back into exactly what generate returns', async () => {
    const request = {
      query: 'When was the Eiffel Tower built?',
      sources: [source(1, 'The Eiffel Tower was built between 1887 and 1889. It is 330 metres tall.')],
    };
    const pieces: string[] = [];
    for await (const piece of generator.stream(request)) pieces.push(piece);

    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces[0]).toBe('The ');
    expect(pieces.join('')).toBe((await generator.generate(request)).answer);
  });

  it('stops streaming when the request is aborted', async () => {
    const controller = new AbortController();
    const pieces: string[] = [];
    const reading = (async () => {
      for await (const piece of generator.stream(
        { query: 'anything at all', sources: [] },
        controller.signal,
      )) {
        pieces.push(piece);
        controller.abort();
      }
    })();

    await expect(reading).rejects.toThrow();
    expect(pieces).toEqual(['No ']);
  });

  it('rejects invalid limits', () => {
    expect(() => new ExtractiveGenerator({ analyzer, maxSentences: 0 })).toThrow(RangeError);
    expect(() => new ExtractiveGenerator({ analyzer, maxChars: 10 })).toThrow(RangeError);
  });
});
