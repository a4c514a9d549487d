import { describe, expect, it } from 'vitest';
import { toVectorLiteral } from './vector-index.js';

describe('toVectorLiteral', () => {
  it("writes pgvector's text input from plain and typed arrays alike", () => {
    expect(toVectorLiteral([1, -0.5, 0.25])).toBe('[1,-0.5,0.25]');
    expect(toVectorLiteral(Float32Array.from([1, -0.5, 0.25]))).toBe('[1,-0.5,0.25]');
  });

  it('writes a value JSON cannot (NaN, Infinity) as 0, never a null PostgreSQL would refuse', () => {
    expect(toVectorLiteral([NaN, 2, Infinity, -Infinity])).toBe('[0,2,0,0]');
  });
});
