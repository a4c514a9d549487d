import type { ChatTurn } from '#contracts';
import { describe, expect, it } from 'vitest';
import { condenseByRule, keyTerms } from './condense-conversation.js';

const user = (content: string): ChatTurn => ({ role: 'user', content });
const assistant = (content: string): ChatTurn => ({ role: 'assistant', content });

describe('condenseByRule', () => {
  const history = [
    user('Does daily aspirin lower the risk of stroke?'),
    assistant('Yes: low-dose aspirin reduces the risk of a first ischemic stroke in women [1].'),
  ];

  it('puts the previous question’s key terms before a short follow-up', () => {
    expect(condenseByRule(history, 'And what about its side effects?')).toBe(
      'daily aspirin lower risk stroke: And what about its side effects?',
    );
  });

  it('does not borrow terms the follow-up already has', () => {
    expect(condenseByRule(history, 'stroke in men?')).toBe('daily aspirin lower risk: stroke in men?');
  });

  it('leaves a follow-up with enough key terms of its own as it is', () => {
    expect(condenseByRule(history, 'Does coffee protect the liver from cirrhosis?')).toBe(
      'Does coffee protect the liver from cirrhosis?',
    );
  });

  it('borrows from the latest earlier user turn, never from the assistant', () => {
    const longer = [
      user('Is green tea good for the heart?'),
      assistant('Green tea contains catechins [1].'),
      ...history,
    ];
    expect(condenseByRule(longer, 'why?')).toBe('daily aspirin lower risk stroke: why?');
    expect(condenseByRule([assistant('Catechins are antioxidants.')], 'why?')).toBe('why?');
  });

  it('skips a last turn that repeats the current question', () => {
    expect(condenseByRule([...history, user('and in men?')], 'And in men?')).toBe(
      'daily aspirin lower risk stroke: And in men?',
    );
  });

  it('drops the function words of the conversation’s language', () => {
    const german = [user('Senkt Aspirin das Risiko eines Schlaganfalls?')];
    expect(condenseByRule(german, 'Und bei Männern?')).toBe(
      'Senkt Aspirin Risiko Schlaganfalls: Und bei Männern?',
    );
  });

  it('bounds what it borrows, and returns the normalised question without history', () => {
    const long = [user(Array.from({ length: 20 }, (_, i) => `term${i}`).join(' '))];
    expect(condenseByRule(long, 'why?')).toBe('term0 term1 term2 term3 term4 term5 term6 term7: why?');
    expect(condenseByRule([], '  why\n now? ')).toBe('why now?');
    expect(condenseByRule([user(`${'x'.repeat(65)} aspirin`)], 'why?')).toBe('aspirin: why?');
    expect(condenseByRule([user('aspirin')], `why ${'?'.repeat(3995)}`)).toBe(`why ${'?'.repeat(3995)}`);
  });
});

describe('keyTerms', () => {
  it('keeps hyphenated and numbered terms whole, once each, as written', () => {
    expect(
      keyTerms('What does IL-6 do, and IL-6 in COVID-19?', new Set(['what', 'does', 'do', 'and', 'in'])),
    ).toEqual(['IL-6', 'COVID-19']);
  });
});
