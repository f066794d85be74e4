// InternImage-T from the page: the offer, the download and the conversion in the worker, the
// model kept in the browser, and every bad input answered. The official checkpoint cannot be
// downloaded here, so `cargo xtask test` serves seeded ones in the official forms (the Hub's
// prefixed safetensors with its config.json, tools/make_checkpoints.py's .pth) and the catalog
// is pointed at them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApp } from './browser.mjs';

const CHECKPOINTS = process.env.CHECKPOINTS;
const FAULTY_HOST = process.env.FAULTY_HOST;
const expected = JSON.parse(readFileSync(process.env.INTERNIMAGE_T_EXPECTED));
const fixtures = fileURLToPath(new URL('../fixtures/checkpoints/', import.meta.url));
const servedFolder = (name) => `${CHECKPOINTS}${name}`;

/// The served catalog with InternImage-T's sources pointed at the seeded checkpoints.
function seededOffer(page) {
  return page.route('**/public/weights/catalog.json', async (route) => {
    const catalog = await (await route.fetch()).json();
    const offer = catalog.checkpoints[0];
    offer.sources = [
      { ...offer.sources[0], url: servedFolder('t-hub/model.safetensors'), config_url: servedFolder('t-hub/config.json') },
      { ...offer.sources[1], url: servedFolder('wrapped.pth') },
    ];
    await route.fulfill({ contentType: 'application/json', body: JSON.stringify(catalog) });
  });
}

/// Long tasks on the page's thread, with when they started.
function watchLongTasks(page) {
  return page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: true });
  });
}

/// Full-page screenshots at a desktop's width (1280 x 800) and a phone's (390 x 844).
async function screenshotsAtBothWidths(app, name) {
  const before = app.page.viewportSize();
  // Each after the page has laid itself out and painted at the new width.
  await app.page.setViewportSize({ width: 1280, height: 800 });
  await app.page.waitForTimeout(500);
  const desktop = await app.screenshot(`${name}-desktop`);
  await app.page.setViewportSize({ width: 390, height: 844 });
  await app.page.waitForTimeout(500);
  const phone = await app.screenshot(`${name}-phone`);
  await app.page.setViewportSize(before);
  return `${desktop}, ${phone}`;
}

/// At a phone's width, the layer select's widest option text against the room the select gives
/// it (its inner width less the arrow's): a label wider than that is cut.
async function widestLayerLabelAtPhoneWidth(app) {
  const before = app.page.viewportSize();
  await app.page.setViewportSize({ width: 390, height: 844 });
  await app.page.waitForTimeout(300);
  const fit = await app.page.evaluate(() => {
    const select = document.querySelector('[data-testid="layer-select"]');
    const style = getComputedStyle(select);
    const probe = document.createElement('span');
    probe.style.cssText = `position: absolute; visibility: hidden; white-space: pre; font: ${style.font}`;
    document.body.append(probe);
    let widest = { label: '', width: 0 };
    for (const option of select.options) {
      probe.textContent = option.text;
      const width = probe.getBoundingClientRect().width;
      if (width > widest.width) widest = { label: option.text, width };
    }
    probe.remove();
    const arrow = 20;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - arrow;
    return { ...widest, room };
  });
  await app.page.setViewportSize(before);
  return fit;
}

async function waitForTop5(app, wanted) {
  await app.page.waitForFunction(
    (labels) => {
      const rows = [...document.querySelectorAll('[data-testid="top5-row"] .label')].map((l) => l.textContent);
      return rows.length === 5 && rows.every((l, i) => l === labels[i]);
    },
    wanted,
    { timeout: 300_000 },
  );
}

test('InternImage-T in one click: downloaded, converted in the worker, kept; the CLI\'s top-5; the next visit from storage', async () => {
  const app = await openApp({ beforeLoad: async (page) => { await seededOffer(page); await watchLongTasks(page); } });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    const offer = page.getByTestId('offer-internimage-t-1k-224');
    const offerText = await offer.textContent();
    assert.match(offerText, /InternImage-T/);
    assert.match(offerText, /ImageNet-1k, 83\.5 % top-1/);
    assert.match(offerText, /Official OpenGVLab weights, MIT licence/);
    assert.match(offerText, /Downloads 120\.0 MB from Hugging Face, safetensors, converts it here to int8 \(about 31\.0 MB\)/);
    await page.getByTestId('sample-cat').click();
    await app.top5();
    console.log(`screenshot: ${await screenshotsAtBothWidths(app, 'install-offer')}`);

    const clicked = await page.evaluate(() => performance.now());
    await page.getByTestId('offer-get').click();
    const progress = page.getByTestId('install-progress');
    await page.waitForFunction(() => /Converting .* to int8: \d+ of \d+ tensors/.test(
      document.querySelector('[data-testid="install-progress"]')?.textContent ?? ''), null, { timeout: 300_000 });
    const midway = await progress.textContent();
    console.log(`progress: ${midway}`);
    console.log(`screenshot: ${await app.screenshot('install-progress')}`);
    // The conversion ends where the model starts to build.
    await page.waitForFunction(() => document.querySelector('[data-testid="model-loading"], [data-testid="model-info"], [data-testid="model-error"]'), null, { timeout: 300_000 });
    const converted = await page.evaluate(() => performance.now());
    await waitForTop5(app, expected.top5);
    const firstTop5 = await page.evaluate(() => performance.now());
    await app.explored();
    const explored = await page.evaluate(() => performance.now());
    assert.match(await app.modelDescription().textContent(), /InternImage-T, ImageNet-1k, 83\.5 % top-1, 30 M parameters \(official OpenGVLab weights, MIT licence\), converted to int8 from model\.safetensors/);

    const install = JSON.parse(await page.evaluate(() => document.body.dataset.lastInstall));
    const longTasks = await page.evaluate(([from, to]) => window.__longTasks.filter((t) => t.start >= from && t.start <= to), [clicked, converted]);
    console.log(`click to first top-5: ${Math.round(firstTop5 - clicked)} ms (download ${Math.round(install.download_ms)} ms of ${install.source_bytes} bytes, conversion ${Math.round(install.convert_ms)} ms, then build and classify ${Math.round(firstTop5 - converted)} ms; every layer's sampling ${Math.round(explored - firstTop5)} ms after the top-5); worker memory at its peak ${(install.worker_memory_bytes / 1e6).toFixed(1)} MB; long tasks while downloading and converting: ${JSON.stringify(longTasks.map((t) => t.ms))} ms`);
    assert.ok(longTasks.every((t) => t.ms <= 200), `the page froze while converting: ${JSON.stringify(longTasks)}`);

    // The page's bytes are the CLI's.
    const stored = await page.evaluate(async () => {
      const cache = await caches.open('internimage-converted');
      const [request] = await cache.keys();
      const bytes = await (await cache.match(request)).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return { key: request.url, size: bytes.byteLength, sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') };
    });
    assert.equal(stored.sha256, expected.converted_sha256, 'the page converted to other bytes than the CLI');
    assert.match(stored.key, new RegExp(`sha256=${install.source_sha256}`), 'the key names the source\'s SHA-256');
    console.log(`screenshot: ${await screenshotsAtBothWidths(app, 'internimage-t-top5')}`);
    const layers = page.getByTestId('layer-select');
    const count = await layers.locator('option').count();
    await layers.selectOption({ index: count - 1 });
    await app.clickImage(96, 80);
    console.log(`screenshot: ${await app.screenshot('internimage-t-explorer-last-layer')}`);
    assert.equal(new URL(page.url()).searchParams.get('model'), 'internimage-t-1k-224', 'the link names the model');

    // Moving between layers and points on InternImage-T's shapes keeps the page's thread free.
    const strip = page.getByTestId('strip-layer');
    assert.equal(await strip.count(), count);
    const moving = await page.evaluate(() => performance.now());
    await strip.nth(0).click();
    for (let i = 1; i < count; i += 1) {
      await page.keyboard.press('ArrowRight');
      if (i % 6 === 0) await app.clickImage(20 + 6 * i, 200 - 5 * i);
    }
    await page.getByTestId('show-select').selectOption('spread');
    for (const index of [0, 10, 20]) {
      await strip.nth(index).click();
      await app.clickImage(50 + index, 60 + index);
    }
    await page.waitForTimeout(300);
    const movingTasks = await page.evaluate((from) => window.__longTasks.filter((t) => t.start >= from), moving);
    console.log(`long tasks while moving through ${count} layers and 8 points: ${JSON.stringify(movingTasks.map((t) => t.ms))} ms`);
    assert.ok(movingTasks.every((t) => t.ms <= 100), `a task over 100 ms: ${JSON.stringify(movingTasks)}`);
    console.log(`screenshot: ${await screenshotsAtBothWidths(app, 'internimage-t-heat-strip')}`);
    const label = await widestLayerLabelAtPhoneWidth(app);
    console.log(`widest layer label at 390 px: "${label.label}", ${label.width.toFixed(0)} of ${label.room.toFixed(0)} px`);
    assert.ok(label.width <= label.room, `the layer select cuts "${label.label}" on a phone`);
    await page.getByTestId('show-select').selectOption('points');
    const list = await page.getByTestId('stored-models').textContent();
    assert.match(list, /InternImage-T/);
    assert.match(await page.getByTestId('storage-estimate').textContent(), /This site uses [\d.]+ MB of the [\d.]+ MB/);

    // The next visit: InternImage-T from storage, no request for weights at all.
    const weightRequests = [];
    page.on('request', (r) => /\.(safetensors|pth)(\?|$)/.test(r.url()) && weightRequests.push(r.url()));
    const reloaded = Date.now();
    await page.reload();
    await waitForTop5(app, expected.top5);
    await app.explored();
    console.log(`second visit: first top-5 from storage after ${Date.now() - reloaded} ms (from the reload)`);
    assert.deepEqual(weightRequests, [], 'the second visit downloaded weights');
    assert.match(await page.getByTestId('model-info').textContent(), /kept in this browser/);
    console.log(`screenshot: ${await app.screenshot('stored-list')}`);

    await page.getByTestId('stored-remove').click();
    await page.getByTestId('stored-models').waitFor({ state: 'hidden' });
    assert.match(await page.getByTestId('offer-get').textContent(), /Get InternImage-T/);
  } finally {
    await app.close();
  }
});

async function errorAfter(app, act) {
  const page = app.page;
  await act(page);
  const error = page.getByTestId('model-error');
  await error.waitFor({ timeout: 300_000 });
  return error.textContent();
}

async function fromAddress(page, url) {
  await page.getByTestId('checkpoint-url').fill(url);
  await page.getByTestId('checkpoint-url').press('Enter');
}

test('bad checkpoints are answered with what to do, the loaded model kept and nothing stored', async () => {
  const app = await openApp({ beforeLoad: seededOffer });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    const demo = await app.modelDescription().textContent();
    const drop = (name) => (p) => p.getByTestId('weights-input').setInputFiles(`${fixtures}${name}`);
    const cases = [
      ['resnet.pth', drop('resnet.pth'), /not an InternImage checkpoint: none of its 6 tensors \(`bn1\.bias`.*\) is one of InternImage's/],
      ['a truncated .pth', (p) => fromAddress(p, servedFolder('truncated.pth')), /cut short .* download it again/],
      ['a zip that is not a checkpoint', drop('not_a_checkpoint.zip'), /a zip file, but not a PyTorch checkpoint/],
      ['a variant with layer scale', (p) => fromAddress(p, servedFolder('layer-scale.safetensors')), /an InternImage the engine cannot run: layer scale/],
      ['a host without CORS', (p) => fromAddress(p, `${FAULTY_HOST}/no-cors/hub.safetensors`), /does not allow other sites to fetch it \(CORS\)\. Download the file yourself and drop it/],
      ['a file over the browser\'s memory', (p) => fromAddress(p, `${FAULTY_HOST}/huge/hub.safetensors`), /the file is 16384 MB, more than the 1024 MB this page reads/],
      ['a download that breaks off', (p) => fromAddress(p, `${FAULTY_HOST}/cut-short/hub.safetensors`), /the download broke off: .*\. Check the connection and press Retry/],
    ];
    for (const [what, act, message] of cases) {
      const text = await errorAfter(app, act);
      console.log(`${what}: ${text}`);
      assert.match(text, message, what);
      assert.equal(await app.modelDescription().textContent(), demo, `${what}: the demo model stays loaded`);
      if (what === 'a host without CORS') console.log(`screenshot: ${await app.screenshot('install-error-cors')}`);
    }
    // A network failure offers Retry.
    assert.ok(await page.getByTestId('install-retry').isVisible(), 'a broken download offers Retry');
    console.log(`screenshot: ${await app.screenshot('install-error-retry')}`);
    assert.equal(await page.getByTestId('stored-model').count(), 0, 'nothing was kept');
    const keys = await page.evaluate(async () => (await (await caches.open('internimage-converted')).keys()).length);
    assert.equal(keys, 0, 'nothing half stored');

    // Cancel ends the conversion; the demo model stays.
    await page.getByTestId('offer-get').click();
    await page.getByTestId('install-cancel').click();
    await app.modelDescription().waitFor({ timeout: 60_000 });
    assert.equal(await app.modelDescription().textContent(), demo, 'cancelled: the demo model is back');

    // The release's .pth, the offer's second source.
    await page.getByTestId('offer-source').selectOption('1');
    await page.getByTestId('offer-get').click();
    await page.waitForFunction(() => /converted to int8 from wrapped\.pth/.test(document.querySelector('[data-testid="model-description"]')?.textContent ?? ''), null, { timeout: 300_000 });
    assert.equal(await page.getByTestId('stored-model').count(), 1);
  } finally {
    await app.close();
  }
});

test('when the browser refuses to store it, the model still loads for this visit and the page says so', async () => {
  const refuseStorage = (page) => page.addInitScript(() => {
    Cache.prototype.put = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
  });
  const app = await openApp({ beforeLoad: async (page) => { await seededOffer(page); await refuseStorage(page); } });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    await page.getByTestId('offer-source').selectOption('1');
    await page.getByTestId('offer-get').click();
    const notice = page.getByTestId('model-notice');
    await notice.waitFor({ timeout: 300_000 });
    const text = await notice.textContent();
    console.log(`storage refused: ${text}`);
    assert.match(text, /InternImage-T is loaded for this visit, but this browser did not keep it \(.*quota.*\): the next visit will download it again/);
    assert.match(await app.modelDescription().textContent(), /converted to int8 from wrapped\.pth/);
    assert.equal(await page.getByTestId('stored-model').count(), 0, 'nothing is listed as kept');
  } finally {
    await app.close();
  }
});
