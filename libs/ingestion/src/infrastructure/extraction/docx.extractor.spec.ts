import { describe, expect, it } from 'vitest';
import { makeDocx } from '#testing';
import { extractDocx } from './docx.extractor.js';
import { UnreadableFileError } from './extraction.errors.js';

describe('extractDocx', () => {
  it('reads the body, its table by rows, and the core properties', async () => {
    const file = await makeDocx(
      { title: 'Harbour survey', author: 'Ines Alvarez' },
      ['The lighthouse keeper logged eleven storms.', 'Gulls nest on the north pier.'],
      [
        ['Pier', 'Depth'],
        ['North', '12 m'],
      ],
    );
    const out = await extractDocx(file);
    expect(out.title).toBe('Harbour survey');
    expect(out.metadata).toMatchObject({ author: 'Ines Alvarez', created: expect.any(String) });
    expect(new Date(out.metadata!.created as string).getTime()).not.toBeNaN();
    expect(out.text).toContain('The lighthouse keeper logged eleven storms.');
    expect(out.text).toContain('Gulls nest on the north pier.');
    expect(out.text).toMatch(/Pier\s+Depth/);
    expect(out.text).toMatch(/North\s+12 m/);
  });

  it('takes the first heading as title when the properties have none', async () => {
    const out = await extractDocx(await makeDocx({}, ['Body text.']));
    expect(out.title).toBe('Untitled');
  });

  it('refuses bytes that are no zip, and a zip that is no Word document, with a reason', async () => {
    await expect(extractDocx(Buffer.from('not a word file'))).rejects.toThrow(UnreadableFileError);
    await expect(extractDocx(Buffer.from('not a word file'))).rejects.toThrow(/not a valid zip package/);
    const { makeXlsx } = await import('#testing');
    const workbook = await makeXlsx({}, [{ name: 'S', rows: [['a']] }]);
    await expect(extractDocx(workbook)).rejects.toThrow(/no word\/document.xml/);
  });
});
