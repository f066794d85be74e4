// The default weights: verified against their manifest, kept in Cache Storage, refused when
// they do not match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from './browser.mjs';

test('the default weights are verified, cached, and the next visit takes them from the cache', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('model-info').textContent(), /downloaded, size and SHA-256 verified/);
    const downloads = [];
    page.on('request', (r) => r.url().endsWith('default.safetensors') && downloads.push(r.url()));
    await page.reload();
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('model-info').textContent(), /from the browser cache, size and SHA-256 verified/);
    assert.deepEqual(downloads, [], 'the second load did not download the weights');
    console.log(`screenshot: ${await app.screenshot('weights-from-cache')}`);
  } finally {
    await app.close();
  }
});

test('weights that do not match their manifest are refused with the reason', async () => {
  const app = await openApp({
    beforeLoad: (page) =>
      page.route('**/public/weights/default.json', (route) =>
        route.fulfill({ contentType: 'application/json', body: '{"size": 1757708, "sha256": "00ff"}' })),
  });
  try {
    const error = app.page.getByTestId('model-error');
    await error.waitFor({ timeout: 120_000 });
    const text = await error.textContent();
    assert.match(text, /The default weights cannot be used: (its SHA-256 is [0-9a-f]{64}, its manifest says 00ff|the file has \d+ bytes, its manifest says 1757708)/);
    assert.ok(await app.page.getByTestId('weights-input').isVisible(), 'the page offers to load other weights');
  } finally {
    await app.close();
  }
});
