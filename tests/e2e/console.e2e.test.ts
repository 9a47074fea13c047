import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startSystem, type RunningSystem } from '@orderflow/runner';
import { freePort } from '@orderflow/testkit';
import { paused, startOrderApiReplica, writeStaleApiCatalog } from './order-api-replica';

// The console in a real browser (Debian's Chromium driven by playwright-core) against the whole
// system: one order API with development tokens (make up AUTH=dev), one without authentication.
// A service held still (SIGSTOP) keeps the order in a state long enough for a screenshot; the
// screenshots stay in .run/test-artifacts/console/.
const ROOT = join(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.run', 'test-artifacts', 'console');
// As node-svc.md describes: no sandbox as root, and no calls out of this machine.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let system: RunningSystem;
let open: { url: string; stop: () => Promise<void> };
let workDir: string;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: make deps installs Debian's chromium (as root)`);
  workDir = mkdtempSync(join(tmpdir(), 'orderflow-console-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const apiCatalog = writeStaleApiCatalog(ROOT, workDir);
  system = await startSystem({
    root: ROOT,
    runDir: join(workDir, '.run'),
    apiPort: await freePort(),
    grpcPort: await freePort(),
    queryWorkers: 1,
    auth: 'dev',
    env: { LOG_LEVEL: 'warn' },
    serviceEnv: { 'order-api': { RATE_LIMIT_MAX: '0', CATALOG_FILE: apiCatalog } },
  });
  open = await startOrderApiReplica(ROOT, system, {
    logFile: join(workDir, '.run', 'logs', 'order-api-open.log'),
    env: { AUTH_MODE: 'none', CATALOG_FILE: apiCatalog },
  });
  browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await open?.stop();
  await system?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** A new page that records every console error and uncaught exception. */
async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

const status = (page: Page, value: string) =>
  page.locator(`#status[data-status="${value}"]`).waitFor({ timeout: 60_000 });

/** The cells of each row of the events table. */
async function eventRows(page: Page): Promise<string[][]> {
  const rows = page.locator('#events tbody tr');
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++)
    out.push(await rows.nth(i).locator('td').allTextContents());
  return out;
}

test('when a customer orders from the menu without authentication, then the page follows the order live through Pending and Paid to Approved, and lists it', async () => {
  const { page, errors } = await newPage();
  await page.goto(`${open.url}/`);
  await page.getByLabel('Customer id').fill('browser-c1');
  await page.getByRole('button', { name: 'Use' }).click();
  const margherita = page.getByLabel('Pizza Margherita — 12.50');
  await margherita.waitFor();
  await shot(page, '1-menu');
  await paused(system, 'restaurant', async () => {
    await paused(system, 'payment', async () => {
      // By keyboard: the quantity, then Enter submits the form.
      await margherita.focus();
      expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe(
        'solid',
      );
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
      await expect(page.locator('#total').textContent()).resolves.toBe('Total 25.00');
      await page.keyboard.press('Enter');
      await status(page, 'Pending');
      await shot(page, '2-pending');
    });
    await status(page, 'Paid');
    await shot(page, '3-paid');
  });
  await status(page, 'Approved');
  await page.getByText('Final state reached.').waitFor();
  await shot(page, '4-approved');
  const rows = await eventRows(page);
  expect(rows.map((r) => [r[0], r[1]])).toEqual([
    ['0', 'created'],
    ['1', 'payment debited'],
    ['2', 'approved'],
  ]);
  expect(rows.every((r) => /^\d{2}:\d{2}:\d{2}\.\d{3}$/.test(r[2] ?? ''))).toBe(true);
  await page.locator('#order-list tbody tr', { hasText: 'Approved' }).first().waitFor();
  // Every field has a label; on a narrow screen nothing runs off the side.
  const unlabelled = await page.evaluate(
    `[...document.querySelectorAll('input, select, textarea')]
      .filter((e) => e.offsetParent !== null && e.labels.length === 0)
      .map((e) => e.id)`,
  );
  expect(unlabelled).toEqual([]);
  await page.setViewportSize({ width: 360, height: 780 });
  expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
    true,
  );
  await shot(page, '5-approved-narrow');
  expect(errors).toEqual([]);
  await page.close();
});

test('when a customer with a development token orders what the restaurant no longer sells, then the page shows it rejected, refunded and Cancelled', async () => {
  const { page, errors } = await newPage();
  await page.goto(`${system.endpoints.api}/`);
  await page.getByLabel('Customer id').fill('browser-c2');
  await page.getByRole('button', { name: 'Get a development token' }).click();
  await page.getByText('Ordering as browser-c2.').waitFor();
  expect(await page.getByLabel('Bearer token').inputValue()).toMatch(/^ey/);
  await page.getByLabel('Restaurant').selectOption({ label: 'Nowhere Bistro' });
  await page.getByLabel('Margherita — 9.00').fill('1');
  await paused(system, 'saga', async () => {
    await page.getByRole('button', { name: 'Place order' }).click();
    await status(page, 'Rejected');
    await shot(page, '6-rejected');
  });
  await status(page, 'Cancelled');
  await page.getByText('Final state reached.').waitFor();
  expect(await page.locator('#status').textContent()).toBe(
    'Cancelled (restaurant-rejected), refunded',
  );
  await shot(page, '7-cancelled-refunded');
  expect((await eventRows(page)).map((r) => r[1])).toEqual([
    'created',
    'payment debited',
    'rejected',
    'refund requested',
    'payment refunded',
    'cancelled',
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

test('when the API reference is opened, then Swagger UI shows the document from this API, with no console errors', async () => {
  const { page, errors } = await newPage();
  await page.goto(`${open.url}/docs`);
  await page.getByText('/api/orders/{id}/events').first().waitFor();
  await shot(page, '8-docs');
  expect(errors).toEqual([]);
  await page.close();
});
