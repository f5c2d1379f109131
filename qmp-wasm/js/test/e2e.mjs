// End to end: the demo page in headless Chromium (playwright-core driving the system's
// /usr/bin/chromium) talks through websockify to a real QEMU, with a proxy splitting
// what QEMU sends at random boundaries. Saves a screenshot.
//
//   node qmp-wasm/js/test/e2e.mjs [SCREENSHOT.png]
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Harness, requireTool } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const crate = path.resolve(here, '../..');
const screenshot = process.argv[2] ?? path.join(crate, 'js/test/output/console.png');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
requireTool('chromium');

const harness = new Harness();
let browser;
try {
  const split = await harness.splitter(await harness.qemu(), { seed: 11, maxPiece: 1500 });
  const { http, url } = await harness.websockify(split, { web: crate });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e));
  await page.goto(`${http}demo/?url=${encodeURIComponent(url)}`);
  await page.waitForSelector('body[data-ready=true]');

  const step = (what) => console.log(`e2e: ${what}`);
  await page.click('#connect-button');
  await page.waitForFunction(() => document.querySelector('#badge').textContent === 'running');
  await page.waitForFunction(() => Number(document.querySelector('#line').dataset.commands) > 100);
  assert.match(await page.textContent('#version'), /QEMU 10\.\d+\.\d+ · oob/);
  step('connected, negotiated with oob, badge running, command names loaded');

  const line = page.locator('#line');
  const send = async (text) => {
    await line.fill(text);
    await line.press('Enter');
  };
  const lastEntry = () => page.locator('#transcript .entry').last();
  const settled = async () => {
    await page.waitForFunction(() => {
      const all = document.querySelectorAll('#transcript .entry');
      return !all[all.length - 1].classList.contains('waiting');
    });
  };

  await send('query-status');
  await settled();
  assert.match(await lastEntry().textContent(), /"running"/);
  step('query-status replied');

  await send('stop');
  await page.waitForFunction(() => document.querySelector('#badge').textContent === 'paused');
  await page.waitForSelector('#event-log .name.STOP');
  await send('cont');
  await page.waitForFunction(() => document.querySelector('#badge').textContent === 'running');
  await page.waitForSelector('#event-log .name.RESUME');
  step('STOP and RESUME seen, badge followed');

  const visible = () =>
    page.$$eval('#event-log li', (items) => items.filter((li) => !li.hidden).map((li) => li.dataset.name));
  await page.locator('#event-filter').fill('stop');
  assert.deepEqual(await visible(), ['STOP']);
  await page.locator('#event-filter').fill('');
  await page.locator('#event-names .chip', { hasText: 'STOP' }).click();
  assert.deepEqual(await visible(), ['RESUME']);
  await page.locator('#event-names .chip', { hasText: 'STOP' }).click();
  assert.deepEqual(await visible(), ['RESUME', 'STOP']);
  step('event log filtered by text and by event name');

  await line.fill('query-qmp-sch');
  await line.press('Tab');
  assert.equal(await line.inputValue(), 'query-qmp-schema ');
  await line.press('Enter');
  await settled();
  const schemaBytes = Number(await lastEntry().getAttribute('data-reply-bytes'));
  assert.ok(schemaBytes > 235_000, `schema reply of ${schemaBytes} bytes`);
  const schemaEntry = lastEntry();
  assert.match(await schemaEntry.textContent(), /236 KB/);
  assert.match(await schemaEntry.textContent(), /\[…\] \d{3,} items/);
  const summary = schemaEntry.locator('details.json > summary').first();
  await summary.click();
  await schemaEntry.locator('details.json .children details').first().waitFor();
  // Open one entry two levels down, then fold the reply again for the screenshot.
  await schemaEntry.locator('details.json .children details > summary').first().click();
  await summary.click();
  step(`query-qmp-schema shown (${schemaBytes} bytes of JSON, as received), completed by Tab, expanded and folded`);

  await line.press('ArrowUp');
  assert.equal(await line.inputValue(), 'query-qmp-schema');
  await line.fill('');
  step('history recalls the last command');

  await line.fill('device_del id=net0 id=net1');
  await page.waitForFunction(() => document.querySelector('#hint').textContent.includes('twice'));
  await line.press('Enter');
  await settled();
  assert.match(await lastEntry().textContent(), /syntax: the same key is given twice at column 19/);
  await send('device_del id=nope');
  await settled();
  assert.match(await lastEntry().textContent(), /DeviceNotFound/);
  step('syntax error pointed at its column; QMP error shown with its class');

  // The same query again to leave a readable reply at the bottom of the screenshot,
  // then collapse the schema.
  await send('query-status');
  await settled();
  await page.locator('#event-filter').fill('');
  assert.ok(harness.pieces > 150, `the proxy sent ${harness.pieces} pieces`);
  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  step(`screenshot saved to ${screenshot} (the proxy split QEMU's output into ${harness.pieces} pieces)`);
  assert.deepEqual(pageErrors, []);
  console.log('e2e: passed');
} finally {
  await browser?.close();
  await harness.stop();
}
