// Shareable views: the address carries the view, a fresh browser opening it shows the same,
// Back and Forward step through views, and a garbage link still opens a working page. Also the
// strip of every layer, and the page at a desktop's and a phone's width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, PHONE } from './browser.mjs';

async function shown(page) {
  const overlay = page.getByTestId('overlay');
  return {
    layer: await page.getByTestId('layer-select').inputValue(),
    group: await page.getByTestId('group-select').inputValue(),
    show: await page.getByTestId('show-select').inputValue(),
    point: await overlay.getAttribute('data-point'),
    points: await overlay.getAttribute('data-points'),
    heat: await overlay.getAttribute('data-heat'),
    image: await page.locator('.prediction h3').textContent(),
  };
}

async function waitForView(page, want) {
  try {
    await page.waitForFunction((w) => {
      const value = (id) => document.querySelector(`[data-testid="${id}"]`)?.value;
      return value('layer-select') === w.layer && value('show-select') === w.show
        && document.querySelector('[data-testid="overlay"]')?.dataset.point === w.point;
    }, want, { timeout: 60_000 });
  } catch (error) {
    const { points, ...now } = await shown(page);
    throw new Error(`${error.message}: at ${page.url()} the page shows ${JSON.stringify(now)}, not ${JSON.stringify({ ...want, points: undefined })}`);
  }
}

test('a view goes into the address; a fresh browser opening it shows the same; Back and Forward step', async () => {
  const app = await openApp();
  let other = null;
  try {
    const page = app.page;
    await app.showSample('heart');
    await page.getByTestId('layer-select').selectOption('3');
    await page.getByTestId('group-select').selectOption('1');
    await app.clickImage(120, 70);
    const pointsView = await shown(page);
    await page.getByTestId('show-select').selectOption('spread');
    const spreadView = await shown(page);
    const address = await page.getByTestId('share-address').inputValue();
    assert.equal(address, page.url(), 'the link shown is the address');
    const query = new URL(address).searchParams;
    assert.deepEqual(Object.fromEntries(query), {
      model: 'shapes-demo.safetensors', image: 'shapes/heart.png', layer: '3', group: '1', x: '120', y: '70', show: 'spread',
    });
    await page.getByTestId('copy-link').click();
    await page.getByTestId('copy-status').filter({ hasText: /\S/ }).waitFor();
    console.log(`copy: ${await page.getByTestId('copy-status').textContent()}; link ${address}`);
    console.log(`screenshot: ${await app.screenshot('view-desktop-spread')}`);

    // Another browser, nothing stored: the same view once the model and image are there.
    other = await openApp({ query: new URL(address).search });
    await other.top5();
    await waitForView(other.page, spreadView);
    assert.deepEqual(await shown(other.page), spreadView);
    assert.equal(await other.page.getByTestId('link-notice').count(), 0, 'nothing was ignored');

    // Back: the points again; Forward: the spread again.
    await page.goBack();
    await waitForView(page, pointsView);
    assert.deepEqual(await shown(page), pointsView);
    await page.goForward();
    await waitForView(page, spreadView);
    assert.deepEqual(await shown(page), spreadView);
    // Back past the point and the group, to the first layer 3 view.
    await page.goBack();
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('[data-testid="group-select"]')?.value === '1'
      && document.querySelector('[data-testid="overlay"]')?.dataset.point !== '120.0,70.0');
    assert.deepEqual(app.consoleErrors, []);
    assert.deepEqual(other.consoleErrors, []);
  } finally {
    await app.close();
    await other?.close();
  }
});

test('a link with garbage in it opens the defaults and says which parts were ignored', async () => {
  const garbage = `?layer=abc&group=-1&x=NaN&y=5&show=everything&model=..%2Fsecret&image=%2Fetc%2Fpasswd&zoom=3&x=${'9'.repeat(3000)}`;
  const app = await openApp({ query: garbage });
  try {
    const page = app.page;
    await app.modelDescription().waitFor({ timeout: 120_000 });
    const notice = await page.getByTestId('link-notice').textContent();
    for (const part of ['layer', 'group', 'x (', 'show', 'model', 'image', 'zoom', 'y (given without x)']) {
      assert.ok(notice.includes(part), `the notice names ${part}: ${notice}`);
    }
    console.log(`garbage link: ${notice}`);
    // The page works: the defaults, and an image classified.
    await page.getByTestId('sample-star-large').click();
    assert.equal((await app.top5())[0].label, 'star');
    assert.equal(await page.getByTestId('layer-select').inputValue(), '0');
    assert.equal(await page.getByTestId('overlay').getAttribute('data-point'), '112.0,112.0');
    console.log(`screenshot: ${await app.screenshot('view-garbage-link')}`);
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
  // A layer and group the model does not have are found out once it is loaded.
  const beyond = await openApp({ query: '?image=shapes%2Fstar-small.png&layer=99&group=7&x=50&y=60&zoom=2' });
  try {
    await beyond.top5();
    await beyond.page.getByTestId('link-notice').filter({ hasText: /DCNv3 layers/ }).waitFor({ timeout: 60_000 });
    const notice = await beyond.page.getByTestId('link-notice').textContent();
    assert.match(notice, /layer \(this model has 6 DCNv3 layers\)/);
    assert.match(notice, /zoom \(not a part of this page's links\)/, 'what was ignored at once is still said');
    assert.equal(await beyond.page.getByTestId('layer-select').inputValue(), '0');
    assert.equal(await beyond.page.getByTestId('overlay').getAttribute('data-point'), '50.0,60.0', 'the rest is shown');
    // An unknown sample is named too.
    const unknown = await openApp({ query: '?image=shapes%2Fnope.png' });
    try {
      await unknown.page.getByTestId('link-notice').filter({ hasText: /nope\.png/ }).waitFor({ timeout: 120_000 });
    } finally {
      await unknown.close();
    }
  } finally {
    await beyond.close();
  }
});

test('the strip shows every layer at the point: click, keys and Play choose the layer', async () => {
  const app = await openApp();
  try {
    const page = app.page;
    await app.showSample('star-large');
    const items = page.getByTestId('strip-layer');
    assert.equal(await items.count(), 6);
    assert.equal(await items.nth(0).getAttribute('aria-pressed'), 'true');
    // Each item's picture is drawn (not blank).
    const colours = await items.nth(5).locator('canvas').evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return new Set(Array.from({ length: d.length / 4 }, (_, i) => `${d[4 * i]},${d[4 * i + 1]},${d[4 * i + 2]}`)).size;
    });
    assert.ok(colours > 20, `the last layer's picture has ${colours} colours`);
    await items.nth(3).click();
    assert.equal(await page.getByTestId('layer-select').inputValue(), '3');
    assert.equal(await items.nth(3).getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByTestId('layer-select').inputValue(), '4');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.layer), '4', 'focus follows');
    await page.keyboard.press('Home');
    assert.equal(await page.getByTestId('layer-select').inputValue(), '0');
    console.log(`screenshot: ${await app.screenshot('strip-desktop')}`);
    console.log(`screenshot: ${await app.phoneScreenshot('strip-phone')}`);
    // Play walks from the first layer to the last, then stops.
    const seen = new Set();
    await page.getByTestId('play').click();
    assert.equal(await page.getByTestId('depth-strip').getAttribute('data-playing'), 'true');
    while ((await page.getByTestId('depth-strip').getAttribute('data-playing')) === 'true') {
      seen.add(await page.getByTestId('layer-select').inputValue());
      await page.waitForTimeout(150);
    }
    assert.equal(await page.getByTestId('layer-select').inputValue(), '5');
    assert.ok(seen.size >= 5, `Play showed layers ${[...seen]}`);
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
});

test('on a phone the image comes first, full width, and nothing is wider than the screen', async () => {
  const app = await openApp({ viewport: PHONE });
  try {
    const page = app.page;
    await app.showSample('heart');
    const layout = await page.evaluate(() => {
      const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
      return {
        pageWidth: document.documentElement.scrollWidth,
        overlay: box('overlay'),
        prediction: box('prediction'),
      };
    });
    assert.ok(layout.pageWidth <= 390, `the page is ${layout.pageWidth} px wide`);
    assert.ok(layout.overlay.width >= 330, `the image is ${layout.overlay.width} px wide`);
    assert.ok(layout.overlay.top < layout.prediction.top, 'the image comes before the prediction');
    await app.clickImage(60, 150);
    assert.equal(await page.getByTestId('overlay').getAttribute('data-point'), '60.0,150.0');
    console.log(`screenshot: ${await app.screenshot('view-phone')}`);
    await page.getByTestId('show-select').selectOption('offset');
    console.log(`screenshot: ${await app.screenshot('view-phone-heat')}`);
  } finally {
    await app.close();
  }
});
