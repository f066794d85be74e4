// The models the server offers (public/weights/catalog.json): the default one verified against
// its entry, kept in Cache Storage, refused when it does not match; the others loaded from the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApp } from './browser.mjs';

const samples = fileURLToPath(new URL('../../public/samples/', import.meta.url));
const catalog = JSON.parse(readFileSync(fileURLToPath(new URL('../../public/weights/catalog.json', import.meta.url))));

test('the default model is verified, cached, and the next visit takes it from the cache', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('model-info').textContent(), /downloaded, size and SHA-256 verified/);
    // The demo model's int8 weights, 2 MB on disk, held as they are.
    assert.match(await page.getByTestId('model-memory').textContent(), /^[12]\.\d MB of weights, \d+\.\d MB of activations$/);
    const downloads = [];
    page.on('request', (r) => r.url().endsWith('shapes-demo.safetensors') && downloads.push(r.url()));
    await page.reload();
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('model-info').textContent(), /from the browser cache, size and SHA-256 verified/);
    assert.deepEqual(downloads, [], 'the second load did not download the weights');
    console.log(`screenshot: ${await app.screenshot('weights-from-cache')}`);
  } finally {
    await app.close();
  }
});

function servedCatalog(models) {
  return (page) => page.route('**/public/weights/catalog.json', (route) =>
    route.fulfill({ contentType: 'application/json', body: JSON.stringify({ models }) }));
}

test('a model that does not match its catalog entry is refused with the reason', async () => {
  const demo = catalog.models[0];
  const app = await openApp({ beforeLoad: servedCatalog([{ ...demo, sha256: '00ff' }]) });
  try {
    const error = app.page.getByTestId('model-error');
    await error.waitFor({ timeout: 120_000 });
    const text = await error.textContent();
    assert.match(text, /shapes-demo\.safetensors cannot be used: its SHA-256 is [0-9a-f]{64}, the catalog says 00ff/);
    assert.ok(await app.page.getByTestId('weights-input').isVisible(), 'the page offers to load other weights');
  } finally {
    await app.close();
  }
});

test('another model on the server is loaded from the list, and its predictions replace the first', async () => {
  // A different network (the tiny variant, seeded, written by `cargo xtask test`) with labels
  // of its own: the same image must be classified differently once it is loaded.
  const otherBytes = readFileSync(process.env.OTHER_MODEL);
  const demo = catalog.models[0];
  const other = {
    ...demo,
    file: 'public/weights/internimage-t.safetensors',
    description: 'seeded tiny variant',
    size: otherBytes.length,
    sha256: createHash('sha256').update(otherBytes).digest('hex'),
  };
  const app = await openApp({
    beforeLoad: async (page) => {
      await servedCatalog([demo, other])(page);
      await page.route('**/public/weights/internimage-t.safetensors', (route) =>
        route.fulfill({ contentType: 'application/octet-stream', body: otherBytes }));
    },
  });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('model-info').textContent(), /shapes-demo\.safetensors from this server/);
    await app.chooseImage(`${samples}shapes/heart.png`);
    const before = await app.top5();
    assert.equal(before[0].label, 'heart');
    const first = page.getByTestId('served-shapes-demo').getByRole('button');
    const second = page.getByTestId('served-internimage-t').getByRole('button');
    assert.equal(await first.textContent(), 'Loaded');
    assert.ok(await first.isDisabled());
    await second.click();
    await page.getByText('internimage-t.safetensors from this server').waitFor({ timeout: 120_000 });
    assert.equal(await second.textContent(), 'Loaded');
    assert.equal(await first.textContent(), 'Load');
    await app.chooseImage(`${samples}shapes/heart.png`);
    await page.waitForFunction(() => document.querySelector('[data-testid="top5-row"] .label')?.textContent.startsWith('seeded class'),
      null, { timeout: 300_000 });
    const after = await app.top5();
    assert.ok(after.every((r) => /^seeded class \d$/.test(r.label)), `the new model's labels: ${after.map((r) => r.label)}`);
    assert.notDeepEqual(after.map((r) => r.percent), before.map((r) => r.percent));
    console.log(`top-5 before: ${JSON.stringify(before)}; after: ${JSON.stringify(after)}`);
    console.log(`screenshot: ${await app.screenshot('served-models')}`);
  } finally {
    await app.close();
  }
});

test('a GPU error while a model is built is a message, and the model loaded before stays', async () => {
  // Once asked, every buffer the page creates without data is asked for far beyond the
  // device's limit: a validation error, as a broken build would raise.
  const app = await openApp({
    beforeLoad: (page) => page.addInitScript(() => {
      const create = GPUDevice.prototype.createBuffer;
      GPUDevice.prototype.createBuffer = function (descriptor) {
        if (window.__refuseBuffers && !descriptor.mappedAtCreation) {
          return create.call(this, { ...descriptor, size: this.limits.maxBufferSize + 1024 });
        }
        return create.call(this, descriptor);
      };
    }),
  });
  try {
    const page = app.page;
    const before = await app.showSample('heart');
    const loaded = await page.getByTestId('model-info').textContent();
    await page.evaluate(() => { window.__refuseBuffers = true; });
    await page.getByTestId('weights-input').setInputFiles(fileURLToPath(new URL('../../public/models/shapes-demo.safetensors', import.meta.url)));
    const error = page.getByTestId('model-error');
    await error.waitFor({ timeout: 120_000 });
    const text = await error.textContent();
    console.log(`GPU error while building: ${text}`);
    assert.match(text, /The GPU refused the work \(Buffer size \(\d+\) exceeds the max buffer size limit \(\d+\)\)\. Whatever was loaded before stays/);
    await page.evaluate(() => { window.__refuseBuffers = false; });
    assert.equal(await page.getByTestId('model-info').textContent(), loaded, 'the model before is still the one loaded');
    await page.getByTestId('sample-star-large').click();
    assert.equal((await app.top5())[0].label, 'star', 'and it still classifies');
    await page.getByTestId('sample-heart').click();
    assert.deepEqual(await app.top5(), before);
    console.log(`screenshot: ${await app.screenshot('weights-gpu-error')}`);
  } finally {
    await app.close();
  }
});
