// Bundled samples, paste, saving the view, and the view surviving a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApp } from './browser.mjs';
import { canvasPixels, pngPixels } from './pictures.mjs';

const samples = fileURLToPath(new URL('../../public/samples/', import.meta.url));

test('a sample button classifies it, and the chosen layer, group and point survive a reload', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    assert.equal((await app.showSample('astronaut')).length, 5);
    assert.match(await page.locator('.prediction h3').textContent(), /astronaut\.jpg/);
    await page.getByTestId('layer-select').selectOption({ index: 2 });
    await page.getByTestId('group-select').selectOption('1');
    await app.clickImage(150, 100);
    const before = await page.getByTestId('overlay').getAttribute('data-points');

    const download = page.waitForEvent('download');
    await page.getByTestId('save-png').click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'internimage-sampling.png');
    const png = readFileSync(await file.path());
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
    // The file is the picture on the screen, pixel for pixel, and that picture is not blank.
    const saved = await pngPixels(page, png);
    const shown = await canvasPixels(page, 'overlay');
    assert.deepEqual([saved.width, saved.height], [560, 560]);
    assert.ok(saved.data.every((v, i) => v === shown.data[i]), 'the saved PNG is what the overlay shows');
    const colours = new Set();
    for (let i = 0; i < saved.data.length; i += 4) colours.add(saved.data.slice(i, i + 3).join());
    assert.ok(colours.size > 1000, `the saved picture has ${colours.size} colours`);

    await page.reload();
    await app.top5();
    assert.match(await page.locator('.prediction h3').textContent(), /astronaut\.jpg/, 'the sample is classified again');
    await page.getByTestId('explore').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('overlay').getAttribute('data-point'), '150.0,100.0');
    assert.equal(await page.getByTestId('layer-select').inputValue(), '2');
    assert.equal(await page.getByTestId('group-select').inputValue(), '1');
    assert.equal(await page.getByTestId('overlay').getAttribute('data-points'), before, 'the same points are drawn');
    console.log(`screenshot: ${await app.screenshot('restored-after-reload')}`);
  } finally {
    await app.close();
  }
});

test('an image pasted from the clipboard is classified', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    const bytes = [...readFileSync(`${samples}rocket.jpg`)];
    await page.evaluate((data) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], 'pasted.jpg', { type: 'image/jpeg' }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true }));
    }, bytes);
    assert.equal((await app.top5()).length, 5);
    assert.match(await page.locator('.prediction h3').textContent(), /pasted\.jpg/);
  } finally {
    await app.close();
  }
});
