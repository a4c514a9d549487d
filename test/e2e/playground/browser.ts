import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * A real headless Chromium for the playground's end-to-end tests: Debian's `chromium` package
 * (scripts/ensure-services.sh installs it), or the one CHROMIUM_PATH names, driven by playwright-core.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const OUTPUT_DIR = join(process.cwd(), 'test-output', 'playground');
export const README_SCREENSHOT = join(process.cwd(), 'docs', 'playground.png');

export async function launchChromium(): Promise<Browser> {
  const executablePath = CANDIDATES.find((p): p is string => !!p && existsSync(p));
  if (!executablePath)
    throw new Error(
      'No Chromium found: install Debian’s chromium package (bash scripts/ensure-services.sh does) or set CHROMIUM_PATH',
    );
  mkdirSync(OUTPUT_DIR, { recursive: true });
  // Root in a container has no user namespace for Chromium's sandbox.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Saves the page under test-output/playground; with UPDATE_PLAYGROUND_SCREENSHOT=1, `readme` also to docs/. */
export async function screenshot(page: Page, name: string, readme = false): Promise<string> {
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (readme && process.env.UPDATE_PLAYGROUND_SCREENSHOT === '1') copyFileSync(path, README_SCREENSHOT);
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core, injected into the page, run on the whole document: the serious and critical violations. It is
 * evaluated through the DevTools protocol, as the page's Content-Security-Policy refuses inline scripts.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate<boolean>('typeof window.axe !== "undefined"'))) await page.evaluate(AXE);
  const violations = await page.evaluate<AxeViolation[]>(
    'window.axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))',
  );
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** How far the page scrolls sideways (0 when it fits the viewport). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return await page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
}

/** The innermost elements that reach past the viewport's right edge, named tag#id.class (for the message). */
export async function pastRightEdge(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.getBoundingClientRect().right <= width + 0.5) continue;
      if ([...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5)) continue;
      let scrolled = false;
      for (let p = el.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') scrolled = true;
      if (!scrolled) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''));
    }
    return out;
  })()`);
}
