import { afterEach, describe, expect, it, vi } from 'vitest';
import { TiktokenCounter } from './tiktoken.counter.js';

const counter = new TiktokenCounter();

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('TiktokenCounter', () => {
  it('counts cl100k_base tokens offline, from the ranks in the package', () => {
    vi.stubGlobal('fetch', () => Promise.reject(new Error('no network in this test')));

    expect(counter.count('hello world')).toBe(2);
    expect(counter.count('')).toBe(0);
    // Tokens, not characters: common words are one token each, whatever their length.
    expect(counter.count('international organisation')).toBeLessThan('international organisation'.length / 4);
  });

  it('counts text that looks like a special token as plain text instead of refusing it', () => {
    expect(counter.count('the end <|endoftext|> of it')).toBeGreaterThan(5);
  });

  it('truncates to a prefix of at most the given tokens', () => {
    const text = 'The Eiffel Tower was built from 1887 to 1889 for the World Fair.';
    const cut = counter.truncate(text, 5);

    expect(text.startsWith(cut)).toBe(true);
    expect(counter.count(cut)).toBeLessThanOrEqual(5);
    expect(counter.truncate(text, 1000)).toBe(text);
  });

  it('never leaves half a character at the end of a cut', () => {
    const text = '日本語の文章はトークンが多い。'.repeat(5);
    for (let n = 1; n < 12; n++) {
      const cut = counter.truncate(text, n);
      expect(cut).not.toContain('\uFFFD');
      expect(text.startsWith(cut)).toBe(true);
    }
  });
});
