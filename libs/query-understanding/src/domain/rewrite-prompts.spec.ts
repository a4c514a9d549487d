import { QUERY_MAX_CHARS } from '#contracts';
import { describe, expect, it } from 'vitest';
import {
  condensePrompt,
  HYDE_MAX_CHARS,
  multiQueryPrompt,
  parseHypotheticalPassage,
  parsePhrasings,
  parseStandaloneQuestion,
} from './rewrite-prompts.js';

describe('parsePhrasings', () => {
  it('reads one phrasing a line, without numbering, bullets, labels or quotes', () => {
    const reply = [
      'Here are three phrasings:',
      '1. Does aspirin reduce stroke risk?',
      '- "Acetylsalicylic acid and cerebrovascular events"',
      '* Phrasing 3: low-dose aspirin stroke prevention',
      '',
    ].join('\n');
    expect(parsePhrasings(reply, 'Does aspirin lower stroke risk?', 3)).toEqual([
      'Does aspirin reduce stroke risk?',
      'Acetylsalicylic acid and cerebrovascular events',
      'low-dose aspirin stroke prevention',
    ]);
  });

  it('drops repeats of each other and of the question, ignoring case and spacing', () => {
    const reply =
      'aspirin and stroke\nAspirin   and stroke\nDOES ASPIRIN LOWER STROKE RISK?\nstroke prevention';
    expect(parsePhrasings(reply, 'Does aspirin lower stroke risk?', 5)).toEqual([
      'aspirin and stroke',
      'stroke prevention',
    ]);
  });

  it('keeps at most the number asked for and drops over-long lines', () => {
    const reply = ['a b', 'x'.repeat(QUERY_MAX_CHARS + 1), 'c d', 'e f'].join('\n');
    expect(parsePhrasings(reply, 'q', 2)).toEqual(['a b', 'c d']);
  });

  it('keeps numbers that are part of a phrasing', () => {
    expect(parsePhrasings('2019 flu vaccine\n1.5 mg dose of aspirin', 'q', 3)).toEqual([
      '2019 flu vaccine',
      '1.5 mg dose of aspirin',
    ]);
  });

  it('finds nothing in an empty or decoration-only reply', () => {
    expect(parsePhrasings('', 'q', 3)).toEqual([]);
    expect(parsePhrasings('Sure:\n- \n""', 'q', 3)).toEqual([]);
  });
});

describe('parseStandaloneQuestion', () => {
  it('takes the first line, without a label or quotes', () => {
    expect(
      parseStandaloneQuestion('\nStandalone question: "What are the side effects of aspirin?"\nmore'),
    ).toBe('What are the side effects of aspirin?');
  });

  it('refuses an empty or over-long reply', () => {
    expect(parseStandaloneQuestion('  \n ')).toBeUndefined();
    expect(parseStandaloneQuestion('x'.repeat(QUERY_MAX_CHARS + 1))).toBeUndefined();
  });
});

describe('parseHypotheticalPassage', () => {
  it('joins the passage into one paragraph', () => {
    expect(parseHypotheticalPassage('Aspirin thins the blood.\n\nIt lowers stroke risk.')).toBe(
      'Aspirin thins the blood. It lowers stroke risk.',
    );
  });

  it('cuts a long passage at a word boundary, and refuses an empty one', () => {
    const passage = parseHypotheticalPassage('word '.repeat(1000))!;
    expect(passage.length).toBeLessThanOrEqual(HYDE_MAX_CHARS);
    expect(passage.endsWith('word')).toBe(true);
    expect(parseHypotheticalPassage(' \n ')).toBeUndefined();
  });
});

describe('prompts', () => {
  it('shows the latest turns of the conversation, each one bounded', () => {
    const history = Array.from({ length: 20 }, (_, i) => ({
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `turn ${i} ${'x'.repeat(3000)}`,
    }));
    const [system, user] = condensePrompt(history, 'and then?');
    expect(system.content).toContain('standalone question');
    expect(user.content).toContain('turn 19');
    expect(user.content).not.toContain('turn 0 ');
    expect(user.content.length).toBeLessThan(7000);
    expect(user.content).toMatch(/Last question: and then\?/);
  });

  it('asks for the number of phrasings wanted, one a line', () => {
    const [system] = multiQueryPrompt('q', 4);
    expect(system.content).toContain('exactly 4 lines');
  });
});
