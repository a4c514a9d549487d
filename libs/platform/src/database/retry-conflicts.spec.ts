import { describe, expect, it } from 'vitest';
import { retryConflicts } from './retry-conflicts.js';

/** Fails with the given errors in turn, then answers. */
function failing(...errors: unknown[]) {
  let calls = 0;
  const work = async () => {
    calls++;
    if (errors.length > 0) throw errors.shift();
    return 'done';
  };
  return { work, calls: () => calls };
}

describe('retryConflicts', () => {
  it('runs work again after a deadlock or a serialization failure, whether TypeORM or pg reports it', async () => {
    const w = failing({ code: '40P01' }, { driverError: { code: '40001' } });
    await expect(retryConflicts(w.work)).resolves.toBe('done');
    expect(w.calls()).toBe(3);
  });

  it('passes any other error on at once', async () => {
    const fk = Object.assign(new Error('violates foreign key constraint'), { code: '23503' });
    const w = failing(fk);
    await expect(retryConflicts(w.work)).rejects.toBe(fk);
    expect(w.calls()).toBe(1);
  });

  it('gives up after five attempts with the last conflict', async () => {
    const conflicts = Array.from({ length: 6 }, (_, i) => ({ code: '40P01', attempt: i + 1 }));
    const w = failing(...conflicts);
    await expect(retryConflicts(w.work)).rejects.toMatchObject({ attempt: 5 });
    expect(w.calls()).toBe(5);
  });
});
