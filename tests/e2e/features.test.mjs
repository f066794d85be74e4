// The explorer's other ways in: a gallery of several images, two views compared side by side,
// the camera (Chromium's fake device), and an automated accessibility check of the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { openApp, PHONE } from './browser.mjs';

const samples = fileURLToPath(new URL('../../public/samples/', import.meta.url));
const require = createRequire(import.meta.url);

const points = async (page, id) => JSON.parse(await page.getByTestId(id).getAttribute('data-points') || '[]');

test('several images dropped make a gallery; choosing one explores it', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    await page.getByTestId('image-input').setInputFiles([
      `${samples}shapes/heart.png`, `${samples}shapes/star-large.png`, `${samples}shapes/arrow-small.png`,
    ]);
    assert.equal((await app.top5())[0].label, 'heart', 'the first is shown');
    const items = page.getByTestId('gallery-item');
    assert.equal(await items.count(), 3);
    assert.equal(await items.nth(0).getAttribute('aria-pressed'), 'true');
    // Thumbnails are the pictures.
    assert.ok(await items.nth(1).locator('img').evaluate((img) => img.complete && img.naturalWidth > 0));
    await items.nth(1).click();
    await page.waitForFunction(() => document.querySelector('.prediction h3')?.textContent === 'star-large.png', null, { timeout: 120_000 });
    assert.equal((await app.top5())[0].label, 'star');
    assert.equal(await items.nth(1).getAttribute('aria-pressed'), 'true');
    // A dropped file cannot travel in a link, and the page says so.
    assert.equal(await page.getByText('The image is a file from this computer').isVisible(), true);
    console.log(`screenshot: ${await app.screenshot('gallery-desktop')}`);
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
});

test('compare: another layer, another group, the same layer on another image, at the same point', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.showSample('star-large');
    await app.clickImage(100, 90);
    // Another layer: the last by default (16 groups), beside the first (2 groups).
    await page.getByTestId('compare').scrollIntoViewIfNeeded();
    assert.equal((await points(page, 'compare-left')).length, 18);
    assert.equal((await points(page, 'compare-right')).length, 144);
    assert.deepEqual(await points(page, 'compare-left'), await points(page, 'overlay'), 'the left side is the view shown');
    await page.getByTestId('compare-layer').selectOption('1');
    assert.equal((await points(page, 'compare-right')).length, 36, 'layer 2: 4 groups');
    console.log(`screenshot: ${await app.screenshot('compare-layers')}`);
    // Another group of the same layer.
    await page.getByTestId('layer-select').selectOption('5');
    await page.getByTestId('group-select').selectOption('2');
    await page.getByTestId('compare-by').selectOption('group');
    await page.getByTestId('compare-group').selectOption('9');
    const right = await points(page, 'compare-right');
    assert.equal(right.length, 9);
    assert.ok(right.every(([g]) => g === 9));
    assert.ok((await points(page, 'compare-left')).every(([g]) => g === 2));
    // The same layer on another image: its own sampling, the one shown untouched.
    await page.getByTestId('compare-by').selectOption('image');
    await page.getByTestId('compare-image').selectOption({ label: 'small star' });
    await page.waitForFunction(() => /star-small\.png: star/.test(document.querySelector('[data-testid="compare-right"]')?.getAttribute('aria-label') ?? ''), null, { timeout: 120_000 });
    const small = await points(page, 'compare-right');
    const large = await points(page, 'compare-left');
    assert.equal(small.length, 9);
    assert.notDeepEqual(small, large, 'another image samples elsewhere');
    assert.match(await page.locator('.prediction h3').textContent(), /star-large\.png/, 'the image shown is still the large star');
    console.log(`screenshot: ${await app.screenshot('compare-images')}`);
    console.log(`screenshot: ${await app.phoneScreenshot('compare-images-phone')}`);
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
});

test('camera mode: live frames classified with the frame rate; Pause keeps a frame to explore', async () => {
  const app = await openApp({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    await page.getByTestId('camera-start').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="camera"]')?.dataset.frames) >= 3, null, { timeout: 180_000 });
    const status = await page.getByTestId('camera-status').textContent();
    assert.match(status, /Live: [\d.]+ frames a second classified/);
    console.log(`camera: ${status}`);
    assert.equal((await app.top5()).length, 5);
    await page.getByTestId('layer-select').selectOption('3');
    console.log(`screenshot: ${await app.screenshot('camera-live')}`);
    await page.getByTestId('camera-pause').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="classifying"]'), null, { timeout: 60_000 });
    // A frame taken before the Pause is counted once its sampling is shown too, and the count
    // follows within the camera loop's 15 ms poll.
    await app.explored();
    await page.waitForTimeout(200);
    const frozen = await page.getByTestId('camera').getAttribute('data-frames');
    const before = await page.getByTestId('overlay').getAttribute('data-points');
    await page.waitForTimeout(1500);
    assert.equal(await page.getByTestId('camera').getAttribute('data-frames'), frozen, 'no frame after Pause');
    assert.equal(await page.getByTestId('overlay').getAttribute('data-points'), before);
    await app.clickImage(60, 60);
    assert.equal(await page.getByTestId('overlay').getAttribute('data-point'), '60.0,60.0');
    assert.match(await page.getByTestId('camera-status').textContent(), /Paused on frame \d+/);
    console.log(`screenshot: ${await app.screenshot('camera-paused')}`);
    console.log(`screenshot: ${await app.phoneScreenshot('camera-paused-phone')}`);
    await page.getByTestId('camera-stop').click();
    assert.equal(await page.getByTestId('camera').getAttribute('data-state'), 'Off');
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
});

/// axe-core's WCAG 2 A and AA rules on the page as it is.
async function accessibilityViolations(page) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0]?.target }));
}

test('accessibility: no serious axe-core violations, every control reachable by keyboard', async () => {
  for (const viewport of [undefined, PHONE]) {
    const app = await openApp(viewport ? { viewport } : {});
    try {
      const page = app.page;
      await app.showSample('heart');
      await page.getByTestId('show-select').selectOption('offset');
      await app.openDiagnostics();
      const violations = await accessibilityViolations(page);
      console.log(`axe at ${viewport ? 'phone' : 'desktop'} width: ${JSON.stringify(violations)}`);
      const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(serious, [], 'serious or critical violations');
      if (!viewport) {
        // Tab reaches the image, the layer choice, the strip and the copy button, each with a
        // visible focus ring.
        const reached = new Set();
        for (let i = 0; i < 150; i += 1) {
          await page.keyboard.press('Tab');
          const focused = await page.evaluate(() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            return { id: e.dataset.testid, ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
          });
          if (focused.id) {
            reached.add(focused.id);
            assert.ok(focused.ring, `${focused.id} has a visible focus ring`);
          }
        }
        for (const id of ['layer-select', 'show-select', 'overlay', 'copy-link', 'strip-layer', 'play', 'sample-heart']) {
          assert.ok(reached.has(id), `Tab reaches ${id}: ${[...reached]}`);
        }
      }
    } finally {
      await app.close();
    }
  }
});
