import { describe, expect, it } from 'vitest';
import { makePptx } from '#testing';
import { UnreadableFileError } from './extraction.errors.js';
import { extractPptx } from './pptx.extractor.js';

describe('extractPptx', () => {
  it('reads slide by slide in order, each with its number, and the core properties', async () => {
    const file = await makePptx({ title: 'Quarterly review', author: 'Sam Okafor' }, [
      ['Revenue grew', 'Tidal turbines sold out'],
      [],
      ['Next steps', 'Open the Lisbon office'],
    ]);
    const out = await extractPptx(file);
    expect(out.title).toBe('Quarterly review');
    expect(out.metadata).toMatchObject({ author: 'Sam Okafor', slides: 3 });
    expect(out.sections).toEqual([
      { kind: 'prose', text: 'Revenue grew\nTidal turbines sold out', metadata: { slide: 1 } },
      { kind: 'prose', text: 'Next steps\nOpen the Lisbon office', metadata: { slide: 3 } },
    ]);
    expect(out.text).toBe('Revenue grew\nTidal turbines sold out\n\nNext steps\nOpen the Lisbon office');
  });

  it('refuses a corrupt file with a reason', async () => {
    const file = await makePptx({}, [['x']]);
    // Cut in half: the zip's central directory, at its end, is gone.
    const cut = file.subarray(0, file.length / 2);
    await expect(extractPptx(cut)).rejects.toThrow(UnreadableFileError);
    await expect(extractPptx(Buffer.from('PK\u0003\u0004 garbage'))).rejects.toThrow(/\.pptx file/);
  });
});
