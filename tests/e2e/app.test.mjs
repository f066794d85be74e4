// What a person sees when the page opens, with and without WebGPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from './browser.mjs';

test('the page finds a WebGPU adapter and shows the DCNv3 kernel matching its reference', async () => {
  const app = await openApp();
  try {
    // Closed at first: the person's image comes first.
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.equal(await app.page.getByTestId('diagnostics').evaluate((d) => d.open), false);
    assert.equal(await app.page.getByTestId('dcnv3-row').count(), 0, 'the self-check waits to be asked');
    await app.openDiagnostics();
    await app.adapterName().waitFor({ timeout: 120_000 });
    assert.match(await app.adapterName().textContent(), /\S/, 'the adapter has a name');
    const rows = await app.kernelChecks(4);
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((r) => r.cells[0]),
      ['56×56×64, G=4', '28×28×128, G=8', '14×14×256, G=16', '7×7×512, G=32'],
    );
    for (const row of rows) {
      assert.ok(row.passed, `row ${row.cells.join(' | ')} passed`);
      assert.ok(Number(row.cells[1]) < 1e-5, `relative error ${row.cells[1]} under 1e-5`);
    }
    const summary = app.page.getByTestId('dcnv3-summary');
    assert.match(await summary.textContent(), /All four InternImage-T shapes match/);
    console.log(`screenshot: ${await app.screenshot('app-adapter-and-dcnv3-check')}`);
    assert.deepEqual(app.consoleErrors, [], 'no errors in the console');
  } finally {
    await app.close();
  }
});

test('a browser without WebGPU gets a clear message instead of a blank page', async () => {
  const app = await openApp({ withoutWebGpu: true });
  try {
    await app.errorPanel().waitFor({ timeout: 60_000 });
    const text = await app.errorPanel().textContent();
    assert.match(text, /does not offer WebGPU/);
    assert.match(text, /Chrome|Firefox|Safari/, 'the message says what to do');
    assert.equal(await app.page.getByTestId('dcnv3-row').count(), 0);
    console.log(`screenshot: ${await app.screenshot('app-without-webgpu')}`);
  } finally {
    await app.close();
  }
});

test('a GPU device lost mid-run is replaced by itself: the model built again, a correct top-5, no reload', async () => {
  const app = await openApp({ captureDevices: true });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    const labels = async () => (await app.top5()).map((r) => `${r.label} ${r.percent}`);
    await page.getByTestId('sample-star-large').click();
    const expected = await labels();
    await page.getByTestId('sample-heart').click();
    await page.waitForFunction((star) => document.querySelector('[data-testid="top5-row"] .label')?.textContent !== star.split(' ')[0], expected[0]);
    await page.evaluate(() => { window.__sameDocument = true; });
    // The star again, and the device destroyed while it runs, as a driver reset would.
    await page.getByTestId('sample-star-large').click();
    await page.evaluate(() => window.__gpuDevices.forEach((device) => device.destroy()));
    const notice = page.getByTestId('model-notice');
    await page.waitForFunction(() => /started a new one, built the model on it again/.test(
      document.querySelector('[data-testid="model-notice"]')?.textContent ?? ''), null, { timeout: 300_000 });
    console.log(`device lost: ${await notice.textContent()}`);
    await page.waitForFunction((want) => {
      const rows = [...document.querySelectorAll('[data-testid="top5-row"]')].map((row) =>
        `${row.querySelector('.label').textContent} ${Number(row.querySelector('.num').textContent.replace('%', ''))}`);
      return rows.length === want.length && rows.every((r, i) => r === want[i]);
    }, expected, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.equal(await page.evaluate(() => window.__gpuDevices.length), 2, 'a second device was opened');
    assert.equal(await app.errorPanel().count(), 0, 'no error panel');
    console.log(`screenshot: ${await app.screenshot('device-lost-recovered')}`);
  } finally {
    await app.close();
  }
});
