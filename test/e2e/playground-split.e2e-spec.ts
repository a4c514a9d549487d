import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#app';
import { deploy, type Deployment } from '#testing';
import { launchChromium, screenshot } from './playground/browser.js';

/**
 * The split deployment: the gateway alone in its own OS process (from dist/) serves the playground, and
 * the page follows a document to `indexed` across the transport.
 */
describe('playground in the split deployment', () => {
  let d: Deployment;
  let browser: Browser;

  beforeAll(async () => {
    d = await deploy('distributed', createApp);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('is served by the gateway process and follows an upload to indexed', async () => {
    const res = await fetch(`${d.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/assets/');
    const page = await browser.newPage();
    await page.goto(`${d.baseUrl}/#add`);
    await page.fill('#paste-id', 'split-doc');
    await page.fill('#paste-text', 'The gateway runs in its own process and reaches ingestion over Redis.');
    await page.click('#paste-text + button');
    await page.waitForSelector('#jobs li[data-doc="split-doc"][data-status="indexed"]', { timeout: 60_000 });
    await screenshot(page, '11-split-deployment');
    await page.close();
  });
});
