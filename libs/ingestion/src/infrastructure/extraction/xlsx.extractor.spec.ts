import { describe, expect, it } from 'vitest';
import { makeXlsx } from '#testing';
import { UnreadableFileError } from './extraction.errors.js';
import { extractXlsx } from './xlsx.extractor.js';

describe('extractXlsx', () => {
  it('reads each sheet as a table with its header, row numbers and name, and the workbook properties', async () => {
    const created = new Date('2025-03-04T05:06:07Z');
    const file = await makeXlsx({ title: 'Fleet', author: 'Ana Ruiz', created }, [
      {
        name: 'Boats',
        rows: [
          ['Name', 'Length', 'Built'],
          ['Aurora', 12.5, new Date('2001-06-01T00:00:00Z')],
          ['Borealis', 9, new Date('1998-02-03T00:00:00Z')],
        ],
      },
      { name: 'Empty', rows: [] },
      { name: 'Crew', rows: [['Who'], ['Mia']] },
    ]);
    const out = await extractXlsx(file);
    expect(out.title).toBe('Fleet');
    expect(out.metadata).toEqual({
      sheets: ['Boats', 'Empty', 'Crew'],
      author: 'Ana Ruiz',
      created: created.toISOString(),
    });
    expect(out.sections).toEqual([
      {
        kind: 'table',
        header: 'Name | Length | Built',
        rows: [
          { line: 'Aurora | 12.5 | 2001-06-01', number: 2 },
          { line: 'Borealis | 9 | 1998-02-03', number: 3 },
        ],
        metadata: { sheet: 'Boats' },
      },
      { kind: 'table', header: 'Who', rows: [{ line: 'Mia', number: 2 }], metadata: { sheet: 'Crew' } },
    ]);
  });

  it('refuses a corrupt workbook with a reason', async () => {
    await expect(extractXlsx(Buffer.from('Name,Length\n'))).rejects.toThrow(UnreadableFileError);
    await expect(extractXlsx(Buffer.from('Name,Length\n'))).rejects.toThrow(/\.xlsx file/);
  });
});
