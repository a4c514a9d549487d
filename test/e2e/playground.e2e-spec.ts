import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#app';
import { playgroundDir } from '#gateway';
import { documentRanking, ndcgAt, recallAt } from '#ranking-metrics';
import { FakeLlmServer, http, llmReply, startTestApp, type TestApp } from '#testing';
import {
  horizontalOverflow,
  launchChromium,
  pastRightEdge,
  screenshot,
  seriousA11yViolations,
} from './playground/browser.js';

/**
 * The playground at `/`, in a real headless Chromium against a real server (PostgreSQL, the fake
 * OpenAI-compatible model server streaming its tokens): upload and watch to `indexed`, a failure and its
 * retry, ask with streaming, citations, explain, stop, a small evaluation, a hostile document rendered as
 * text, axe-core, and a 375 px wide screen. Each test leaves a screenshot in test-output/playground.
 */
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const DOCS = [
  {
    id: 'tea',
    title: 'Green tea',
    text: 'Green tea contains catechins, which are antioxidants. It is brewed at 80 degrees.',
  },
  {
    id: 'coffee',
    title: 'Coffee',
    text: 'Coffee beans are roasted; espresso is brewed under pressure at 92 degrees.',
  },
  { id: 'cocoa', title: 'Cocoa', text: 'Cocoa comes from fermented beans and contains theobromine.' },
];
const EVAL_SET = [
  { query: 'What is in green tea?', relevant: ['tea'] },
  { query: 'How is espresso brewed?', relevant: ['coffee'] },
  { query: 'theobromine beans', relevant: ['cocoa', 'coffee'] },
]
  .map((q) => JSON.stringify(q))
  .join('\n');

describe('playground', () => {
  let llm: FakeLlmServer;
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const text = (selector: string) => page.locator(selector).first().innerText();

  beforeAll(async () => {
    const built = join(playgroundDir()!, 'index.html');
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
    llm = await new FakeLlmServer().start();
    t = await startTestApp(createApp, 'postgres', {
      ...llm.openaiEnv,
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await llm?.close();
  });

  it('serves the page at / fast, its assets cached for good, and leaves /docs and the API alone', async () => {
    const res = await fetch(`${t.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];
    const js = await fetch(`${t.baseUrl}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    // No request leaves the server: every script and style is one of ours.
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${t.baseUrl}/docs/openapi.json`)).status).toBe(200);
    expect((await fetch(`${t.baseUrl}/docs`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await http(t.baseUrl, 'GET', '/rag/collections/none')).status).toBe(404);
    expect((await fetch(`${t.baseUrl}/assets/nothing.js`)).status).toBe(404);

    // A first visit each time (the browser's cache off), timed from the navigation's start to the load
    // event; reloads, so that starting a renderer process for a new site is not counted as the page's.
    await page.goto(`${t.baseUrl}/`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.reload({ waitUntil: 'load' });
      loads.push(await page.evaluate<number>('performance.getEntriesByType("navigation")[0].loadEventEnd'));
    }
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await cdp.detach();
    loads.sort((a, b) => a - b);
    console.log(`playground: load event after ${loads.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    // The best of five: on a machine whose cores are shared, the others measure the wait for a core (the
    // server answers each request in a few ms; the renderer waits to run), not the page.
    expect(loads[0]).toBeLessThan(300);
    await expect.poll(() => page.locator('h2').innerText()).toBe('Collections');
    await screenshot(page, '01-collections-empty');
  });

  it('uploads files and text, follows each to indexed, and shows a failure with its reason and a retry', async () => {
    await page.goto(`${t.baseUrl}/#collections`);
    await page.fill('#open-name', 'drinks');
    await page.click('form.row button[type=submit]');
    await expect.poll(() => text('#current-collection')).toBe('drinks');
    await page.goto(`${t.baseUrl}/#add`);
    await page.setInputFiles('#files', [
      ...DOCS.slice(0, 2).map((d) => ({
        name: `${d.id}.md`,
        mimeType: 'text/markdown',
        buffer: Buffer.from(`# ${d.title}\n\n${d.text}\n`),
      })),
      { name: 'broken.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 not really a pdf') },
    ]);
    await page.click('#drop + button[type=submit]');
    await page.fill('#paste-id', 'cocoa');
    await page.fill('#paste-title', DOCS[2].title);
    await page.fill('#paste-text', DOCS[2].text);
    await page.click('#paste-text + button');
    for (const id of ['tea.md', 'coffee.md', 'cocoa'])
      await page.waitForSelector(`#jobs li[data-doc="${id}"][data-status="indexed"]`, { timeout: 30_000 });
    const failed = page.locator('#jobs li[data-doc="broken.pdf"]');
    await failed.locator('button.retry').waitFor({ timeout: 30_000 });
    expect(await failed.getAttribute('data-status')).toBe('failed');
    expect((await failed.locator('.reason').innerText()).length).toBeGreaterThan(3);
    await screenshot(page, '02-upload');
    // The retry queues the same content again: it goes back through the queue and fails again, said so.
    const before = (await http(t.baseUrl, 'GET', '/rag/collections/drinks/documents/broken.pdf')).body
      .version;
    await failed.locator('button.retry').click();
    await expect
      .poll(async () => {
        const doc = await http(t.baseUrl, 'GET', '/rag/collections/drinks/documents/broken.pdf');
        return doc.body.version > before && doc.body.status === 'failed';
      })
      .toBe(true);
    await failed.locator('button.retry:not([disabled])').waitFor({ timeout: 30_000 });
    expect(await failed.getAttribute('data-status')).toBe('failed');

    await page.goto(`${t.baseUrl}/#collections`);
    const row = page.locator('tr[data-collection="drinks"]');
    await expect.poll(() => row.locator('td').nth(2).innerText()).toBe('3');
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(0, 4)).toEqual(['0', '0', '3', '1']);
    expect(cells[5]).toMatch(/hashing/);
    await screenshot(page, '03-collections');
  });

  async function ask(question: string): Promise<void> {
    await page.fill('#question', question);
    await page.click('#ask');
  }

  it('streams the answer token by token, links each citation to its passage, and explains the ranking', async () => {
    llm.reset();
    const answer = 'Green tea contains catechins, which are antioxidants [1]. Coffee is different [2].';
    llm.reply(llmReply.text(answer, { tokenDelayMs: 60 }));
    await page.goto(`${t.baseUrl}/#ask`);
    await ask('What is in green tea?');
    // Seen while the stream is still open: part of the answer, then all of it.
    await expect.poll(async () => (await text('#t1-answer')).length, { interval: 20 }).toBeGreaterThan(0);
    const partial = await text('#t1-answer');
    expect(answer.startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(answer.length);
    await page.locator('#t1 .explain-open').waitFor();
    expect(await text('#t1-answer')).toBe(answer);
    expect(await page.locator('#t1-answer a.cite').count()).toBe(2);
    await page.click('#t1-answer a.cite >> nth=0');
    const cited = page.locator('#t1-src-1');
    expect(await cited.getAttribute('class')).toContain('highlight');
    expect(await cited.locator('.passage').innerText()).toMatch(/catechins/);
    await screenshot(page, '04-ask');

    await page.click('#t1 .explain-open');
    const explain = page.locator('#t1-explain');
    await explain.locator('svg.slope').waitFor();
    expect(await explain.locator('.term').allInnerTexts()).toEqual(expect.arrayContaining(['green', 'tea']));
    expect(await explain.locator('.explain-table tbody tr').count()).toBe(2);
    const heads = await explain.locator('.explain-table thead th').allInnerTexts();
    expect(heads).toEqual(['Source', 'sparse', 'dense', 'fused', 'before re-rank', 're-ranked']);
    expect(await explain.locator('.waterfall li').count()).toBe(5);
    expect(await explain.locator('svg.slope polyline').count()).toBe(2);
    await screenshot(page, '05-explain', true);
  });

  it('sends the earlier turns as history with a follow-up question', async () => {
    llm.reset();
    llm.reply(llmReply.text('At what temperature is green tea brewed?'), llmReply.text('At 80 degrees [1].'));
    await ask('And at what temperature?');
    await page.locator('#t2 .explain-open').waitFor();
    expect(await text('#t2-answer')).toBe('At 80 degrees [1].');
    const condense = JSON.stringify(llm.requests[0].body.messages);
    expect(condense).toContain('What is in green tea?');
    expect(condense).toContain('And at what temperature?');
    await page.click('#t2 .explain-open');
    expect(await text('#t2-explain .kv dd:nth-of-type(2)')).toMatch(
      /At what temperature is green tea brewed/,
    );
  });

  it('stops an answer mid-stream, and the model call is cancelled upstream', async () => {
    llm.reset();
    llm.reply(
      llmReply.text(
        Array.from({ length: 60 }, (_, i) => `word${i} `),
        { tokenDelayMs: 150 },
      ),
    );
    await page.click('button.secondary:text("New conversation")');
    await ask('Tell me everything about coffee');
    await expect.poll(async () => (await text('#t1-answer')).length, { interval: 20 }).toBeGreaterThan(0);
    await page.click('#stop');
    await expect.poll(() => text('#t1 .meta')).toMatch(/^stopped after/);
    await expect.poll(() => llm.requests[0]?.closedEarly, { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#stop').isDisabled()).toBe(true);
    expect((await text('#t1-answer')).split(' ').length).toBeLessThan(60);
    await screenshot(page, '06-stopped');
  });

  it('renders a hostile document and answer as text: nothing executes, no element is made', async () => {
    await http(t.baseUrl, 'POST', '/rag/collections/drinks/documents', {
      documents: [{ id: 'hostile', title: HOSTILE, text: `Matcha powder ${HOSTILE} is whisked.` }],
    });
    await expect
      .poll(
        async () => (await http(t.baseUrl, 'GET', '/rag/collections/drinks/documents/hostile')).body.status,
      )
      .toBe('indexed');
    llm.reset();
    llm.reply(llmReply.text(`Matcha ${HOSTILE} is whisked [1].`, { tokenDelayMs: 5 }));
    await page.click('button.secondary:text("New conversation")');
    await ask('How is matcha powder prepared?');
    await page.locator('#t1 .explain-open').click();
    await page.locator('#t1-explain svg.slope').waitFor();
    expect(await text('#t1-answer')).toContain(HOSTILE);
    expect(await page.locator('#t1-sources').innerText()).toContain(HOSTILE);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('#app img, #app script').count()).toBe(0);
    await screenshot(page, '07-hostile');
  });

  it('says plainly which stage degraded: a model that fails leaves the extractive answer', async () => {
    llm.reset();
    llm.reply(llmReply.error(500, { message: 'scripted outage' }));
    await page.click('button.secondary:text("New conversation")');
    await ask('How is espresso brewed?');
    await page.locator('#t1 .explain-open').click();
    await page.locator('#t1-explain svg.slope').waitFor();
    expect(await text('#t1-answer')).toMatch(/espresso/i);
    expect(await text('#t1 > .degraded')).toMatch(/generation.*the model failed/s);
    expect(await page.locator('#t1-explain .waterfall .bar.degraded').count()).toBe(1);
    await screenshot(page, '07b-degraded');
  });

  it('runs a small evaluation against two settings, scoring each question as the server’s formulas do', async () => {
    await page.goto(`${t.baseUrl}/#evaluate`);
    await page.fill('#eval-text', EVAL_SET);
    await page.selectOption('#eval-A-mode', 'sparse');
    await page.fill('#eval-A-topk', '1');
    await page.selectOption('#eval-B-mode', 'hybrid');
    await page.fill('#eval-B-topk', '10');
    await page.click('#eval-run');
    await expect.poll(() => text('#eval-status'), { timeout: 30_000 }).toMatch(/^3 questions/);
    expect(await page.locator('#eval-plot circle').count()).toBe(6);
    // The same numbers from the API directly.
    for (const [row, mode, topK] of [
      ['A', 'sparse', 1],
      ['B', 'hybrid', 10],
    ] as const) {
      let ndcg = 0;
      let recall = 0;
      for (const line of EVAL_SET.split('\n')) {
        const q = JSON.parse(line) as { query: string; relevant: string[] };
        const res = await http(t.baseUrl, 'POST', '/rag/search', {
          collection: 'drinks',
          query: q.query,
          mode,
          topK,
        });
        const ranked = documentRanking(res.body.results);
        const rel = new Map(q.relevant.map((id) => [id, 1]));
        ndcg += ndcgAt(ranked, rel, 10) / 3;
        recall += recallAt(ranked, rel, 10) / 3;
      }
      const cells = await page.locator(`#eval-summary tr[data-setting="${row}"] td`).allInnerTexts();
      expect(Number(cells[0])).toBeCloseTo(ndcg, 3);
      expect(Number(cells[1])).toBeCloseTo(recall, 3);
    }
    await page.click('#eval-results summary');
    expect(await page.locator('#eval-queries tbody tr').count()).toBe(3);
    await screenshot(page, '08-evaluate');
  });

  it('creates a collection from a BEIR folder’s files and evaluates it', async () => {
    await page.goto(`${t.baseUrl}/#collections`);
    await page.fill('#open-name', 'beir-mini');
    await page.click('form.row button[type=submit]');
    await page.goto(`${t.baseUrl}/#evaluate`);
    await page.fill('#eval-text', '');
    const jsonl = (rows: object[]) => Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'));
    await page.setInputFiles('#eval-files', [
      {
        name: 'corpus.jsonl',
        mimeType: 'application/jsonl',
        buffer: jsonl(DOCS.map((d) => ({ _id: d.id, title: d.title, text: d.text }))),
      },
      {
        name: 'queries.jsonl',
        mimeType: 'application/jsonl',
        buffer: jsonl([
          { _id: 'q1', text: 'catechins antioxidants' },
          { _id: 'q2', text: 'roasted beans under pressure' },
          { _id: 'q3', text: 'unjudged question' },
        ]),
      },
      {
        name: 'test.tsv',
        mimeType: 'text/tab-separated-values',
        buffer: Buffer.from('query-id\tcorpus-id\tscore\nq1\ttea\t1\nq2\tcoffee\t2\n'),
      },
    ]);
    await page.click('#eval-run');
    await expect.poll(() => text('#eval-status'), { timeout: 60_000 }).toMatch(/^2 questions/);
    const stats = await http(t.baseUrl, 'GET', '/rag/collections/beir-mini');
    expect(stats.body.documents.indexed).toBe(DOCS.length);
    // Two judged questions (the third has no judgement), each a row of the plot.
    expect(await page.locator('#eval-plot circle').count()).toBe(4);
    expect(await page.locator('#eval-status').innerText()).toMatch(/^2 questions/);
    const ndcg = await page.locator('#eval-summary td.ndcg').allInnerTexts();
    for (const v of ndcg) expect(Number(v)).toBeGreaterThan(0.5);
    await screenshot(page, '08b-evaluate-beir');
    await page.goto(`${t.baseUrl}/#collections`);
    await page.fill('#open-name', 'drinks');
    await page.click('form.row button[type=submit]');
  });

  it('has no serious or critical accessibility violation in any view (axe-core)', async () => {
    for (const view of ['collections', 'add', 'ask', 'evaluate']) {
      await page.goto(`${t.baseUrl}/#${view}`);
      await page.locator('main h2').waitFor();
      if (view === 'ask') {
        llm.reset();
        llm.reply(llmReply.text('Cocoa contains theobromine [1].'));
        await page.click('button.secondary:text("New conversation")');
        await ask('What does cocoa contain?');
        await page.locator('#t1 .explain-open').click();
        await page.locator('#t1-explain svg.slope').waitFor();
      }
      expect(await seriousA11yViolations(page), view).toEqual([]);
    }
  });

  it('fits a 375 px wide screen: no view scrolls sideways', async () => {
    // The same browser profile (the collection in use), on a phone-sized viewport.
    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 375, height: 812 });
    for (const view of ['collections', 'add', 'ask', 'evaluate']) {
      await narrow.goto(`${t.baseUrl}/#${view}`);
      await narrow.locator('main h2').waitFor();
      if (view === 'ask') {
        llm.reset();
        llm.reply(llmReply.text('Espresso is brewed under pressure at 92 degrees [1].'));
        await narrow.fill('#question', 'How is espresso brewed?');
        await narrow.click('#ask');
        await narrow.locator('#t1 .explain-open').click();
        await narrow.locator('#t1-explain svg.slope').waitFor();
      }
      if (view === 'evaluate') {
        await narrow.fill('#eval-text', EVAL_SET);
        await narrow.click('#eval-run');
        await narrow.locator('#eval-summary').waitFor({ timeout: 30_000 });
      }
      expect(await pastRightEdge(narrow), view).toEqual([]);
      expect(await horizontalOverflow(narrow), view).toBe(0);
      await screenshot(narrow, `09-narrow-${view}`);
    }
    await narrow.close();
  });

  it('asks for an API key on a 401 and sends it as a Bearer token, kept in the tab’s session only', async () => {
    // The first key makes the server require one from every client, loopback included (last test here).
    const created = await http(t.baseUrl, 'POST', '/rag/keys', { name: 'playground', scopes: ['admin'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const sent: (string | undefined)[] = [];
    const keyed = await context.newPage();
    keyed.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/rag/')) sent.push(r.headers().authorization);
    });
    await keyed.goto(`${t.baseUrl}/#collections`);
    await keyed.locator('#api-key-box[open]').waitFor();
    expect(await keyed.locator('#api-key-note').innerText()).toMatch(/requires an API key/);
    await keyed.fill('#api-key', key);
    await keyed.locator('#api-key').dispatchEvent('change');
    await keyed.click('text=Refresh');
    await keyed.locator('tr[data-collection="drinks"] td.num >> nth=2').waitFor();
    expect(await keyed.locator('tr[data-collection="drinks"] td').nth(2).innerText()).toBe('4');
    expect(sent[0]).toBeUndefined();
    expect(sent.at(-1)).toBe(`Bearer ${key}`);
    expect(await keyed.evaluate('sessionStorage.getItem("ragnest.apiKey")')).toBe(key);
    expect(await keyed.evaluate('localStorage.getItem("ragnest.apiKey")')).toBeNull();
    await screenshot(keyed, '10-api-key');
    await keyed.close();
  });
});
