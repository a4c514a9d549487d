import { describe, expect, it } from 'vitest';
import { detectLanguage, stopWordsOf } from './detect-language.js';

describe('detectLanguage', () => {
  it.each([
    ['en', 'What is the effect of aspirin on the risk of stroke?'],
    ['de', 'Was ist die Wirkung von Aspirin auf das Schlaganfallrisiko?'],
    ['fr', "Quel est l'effet de l'aspirine sur le risque d'AVC ?"],
    ['es', '¿Cuál es el efecto de la aspirina en el riesgo de ictus?'],
    ['it', "Qual è l'effetto dell'aspirina sul rischio di ictus?"],
    ['pt', 'Qual é o efeito da aspirina no risco de AVC?'],
    ['nl', 'Wat is het effect van aspirine op het risico op een beroerte?'],
  ])('tells %s by its function words', (language, question) => {
    expect(detectLanguage(question)).toBe(language);
  });

  it.each([
    ['zh', '阿司匹林对中风风险有什么影响？'],
    ['ja', 'アスピリンは脳卒中のリスクにどのような影響がありますか？'],
    ['ko', '아스피린이 뇌졸중 위험에 미치는 영향은 무엇입니까?'],
    ['ru', 'Как аспирин влияет на риск инсульта?'],
    ['ar', 'ما هو تأثير الأسبرين على خطر السكتة الدماغية؟'],
  ])('tells %s by its script', (language, question) => {
    expect(detectLanguage(question)).toBe(language);
  });

  it('says Japanese for Han characters written with kana, Chinese for Han alone', () => {
    expect(detectLanguage('東京の人口は')).toBe('ja');
    expect(detectLanguage('东京人口')).toBe('zh');
  });

  it('keeps to the script most letters are written in', () => {
    expect(detectLanguage('What does Путин mean in the news?')).toBe('en');
  });

  it('uses letters only one language writes to settle a tie', () => {
    // "la" is French, Spanish and Italian alike; the ñ is Spanish only.
    expect(detectLanguage('la niña')).toBe('es');
  });

  it('says und when there is no evidence, or as much for two languages', () => {
    expect(detectLanguage('aspirin stroke')).toBe('und');
    expect(detectLanguage('IL-6 TNF-α 2020')).toBe('und');
    expect(detectLanguage('  ?! 42 ')).toBe('und');
    expect(detectLanguage('')).toBe('und');
    // "de la" is as French as it is Spanish.
    expect(detectLanguage('de la')).toBe('und');
  });

  it('ignores letter case', () => {
    expect(detectLanguage('WHAT IS THE DOSE?')).toBe('en');
  });

  it('gives the stop words of a profiled language, none for the others', () => {
    expect(stopWordsOf('de').has('und')).toBe(true);
    expect(stopWordsOf('zh').size).toBe(0);
    expect(stopWordsOf('und').size).toBe(0);
  });
});
