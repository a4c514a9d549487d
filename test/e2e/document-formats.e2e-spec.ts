import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, http, makeCsv, makeDocx, makePptx, makeXlsx, type Deployment } from '#testing';
import { createApp } from '#app';

/**
 * Word, PowerPoint, Excel and CSV files uploaded over HTTP, made here by the libraries that write them:
 * each is indexed with its text, title and metadata, found by search with its part (slide, sheet, rows)
 * on the chunk; a corrupt file of each kind ends `failed` with a reason, never a 500.
 */
describe('document formats', () => {
  let t: Deployment;
  const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);
  const upload = (files: { name: string; bytes: Uint8Array | string }[], metadata?: object) => {
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([f.bytes]), f.name);
    if (metadata) form.append('metadata', JSON.stringify(metadata));
    return call('POST', '/rag/collections/office/documents', form);
  };
  const settled = (id: string) =>
    eventually(async () => {
      const r = await call('GET', `/rag/collections/office/documents/${encodeURIComponent(id)}`);
      return r.body.status === 'indexed' || r.body.status === 'failed' ? r.body : undefined;
    });
  const search = async (query: string) => {
    const r = await call('POST', '/rag/search', { collection: 'office', query, topK: 5, mode: 'sparse' });
    expect(r.status).toBe(200);
    return r.body.results as { documentId: string; title: string; text: string; metadata: any }[];
  };

  const rows = Array.from({ length: 60 }, (_, i) => [`vessel-${i + 1}`, `harbour ${i % 5}`, `${i * 7} t`]);

  beforeAll(async () => {
    t = await deploy('postgres', createApp, { CHUNK_SIZE: '400', CHUNK_OVERLAP: '40' });
    const files = [
      {
        name: 'survey.docx',
        bytes: await makeDocx({ title: 'Harbour survey', author: 'Ines Alvarez' }, [
          'The lighthouse keeper logged eleven storms in the winter of the survey.',
        ]),
      },
      {
        name: 'review.pptx',
        bytes: await makePptx({ title: 'Quarterly review', author: 'Sam Okafor' }, [
          ['Revenue grew', 'Tidal turbines sold out'],
          ['Next steps', 'Open the Lisbon office'],
        ]),
      },
      {
        name: 'fleet.xlsx',
        bytes: await makeXlsx({ title: 'Fleet register', author: 'Ana Ruiz' }, [
          { name: 'Vessels', rows: [['Vessel', 'Harbour', 'Tonnage'], ...rows] },
          {
            name: 'Crew',
            rows: [
              ['Name', 'Role'],
              ['Mia Lund', 'navigator'],
            ],
          },
        ]),
      },
      { name: 'tides.csv', bytes: makeCsv([['station', 'high tide'], ...rows.map((r) => [r[0], r[2]])]) },
      { name: 'broken.docx', bytes: 'this is not a word file' },
      { name: 'broken.pptx', bytes: (await makePptx({}, [['x']])).subarray(0, 200) },
      { name: 'broken.xlsx', bytes: 'a,b\n1,2\n' },
      { name: 'broken.csv', bytes: 'a,b\n"unclosed,2\n' },
    ];
    const res = await upload(files, { source: 'upload-test' });
    expect(res.status).toBe(202);
    expect(res.body.documents.map((d: { status: string }) => d.status)).toEqual(files.map(() => 'queued'));
  });

  afterAll(() => t?.close());

  it('indexes a .docx with its title, author and created date', async () => {
    const doc = await settled('survey.docx');
    expect(doc).toMatchObject({
      status: 'indexed',
      title: 'Harbour survey',
      metadata: { source: 'upload-test', filename: 'survey.docx', author: 'Ines Alvarez' },
    });
    expect(new Date(doc.metadata.created).getTime()).not.toBeNaN();
    const [hit] = await search('lighthouse keeper storms');
    expect(hit).toMatchObject({ documentId: 'survey.docx', title: 'Harbour survey' });
    expect(hit.text).toContain('The lighthouse keeper logged eleven storms');
  });

  it('indexes a .pptx slide by slide, with the slide number on each chunk', async () => {
    const doc = await settled('review.pptx');
    expect(doc).toMatchObject({
      status: 'indexed',
      title: 'Quarterly review',
      chunkCount: 2,
      metadata: { author: 'Sam Okafor', slides: 2 },
    });
    const [hit] = await search('Lisbon office');
    expect(hit).toMatchObject({ documentId: 'review.pptx', text: 'Next steps\nOpen the Lisbon office' });
    expect(hit.metadata).toMatchObject({ slide: 2, author: 'Sam Okafor', source: 'upload-test' });
    // A chunk's part is a filter like any metadata.
    const filtered = await call('POST', '/rag/search', {
      collection: 'office',
      query: 'Revenue Lisbon turbines',
      mode: 'sparse',
      filter: { slide: 1 },
    });
    expect(filtered.body.results.map((r: { text: string }) => r.text)).toEqual([
      'Revenue grew\nTidal turbines sold out',
    ]);
  });

  it('indexes an .xlsx as row groups of each sheet, the header row in every chunk', async () => {
    const doc = await settled('fleet.xlsx');
    expect(doc).toMatchObject({
      status: 'indexed',
      title: 'Fleet register',
      metadata: { author: 'Ana Ruiz', sheets: ['Vessels', 'Crew'] },
    });
    expect(doc.chunkCount).toBeGreaterThan(3);
    // The CSV holds the same vessel names: the hit of the workbook is the one looked at.
    const hit = (await search('vessel-42 harbour')).find((h) => h.documentId === 'fleet.xlsx')!;
    expect(hit.text.split('\n')[0]).toBe('Vessel | Harbour | Tonnage');
    expect(hit.text).toContain('vessel-42 | harbour 1 | 287 t');
    expect(hit.metadata).toMatchObject({ sheet: 'Vessels' });
    expect(hit.metadata.firstRow).toBeLessThanOrEqual(43);
    expect(hit.metadata.lastRow).toBeGreaterThanOrEqual(43);
    const [crew] = await search('navigator Mia Lund');
    expect(crew).toMatchObject({ text: 'Name | Role\nMia Lund | navigator', metadata: { sheet: 'Crew' } });
  });

  it('indexes a .csv as row groups with the header row in every chunk', async () => {
    const doc = await settled('tides.csv');
    expect(doc).toMatchObject({ status: 'indexed', metadata: { rows: 60 } });
    expect(doc.chunkCount).toBeGreaterThan(1);
    const hits = (await search('vessel-17 high tide')).filter((h) => h.documentId === 'tides.csv');
    expect(hits[0].text).toMatch(/^station \| high tide\n/);
    expect(hits[0].text).toContain('vessel-17 | 112 t');
  });

  it.each([
    ['broken.docx', /\.docx file cannot be read: it is not a valid zip package/],
    ['broken.pptx', /\.pptx file/],
    ['broken.xlsx', /\.xlsx file cannot be read: it is not a valid zip package/],
    ['broken.csv', /CSV file cannot be read: .*[Qq]uote/],
  ])('ends a corrupt %s as failed, with the reason', async (id, reason) => {
    const doc = await settled(id);
    expect(doc.status).toBe('failed');
    expect(doc.error).toMatch(reason);
  });
});
