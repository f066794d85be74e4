// The sampling explorer: the overlay's points, read from the data it drew, follow the chosen
// point, layer and group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { openApp } from './browser.mjs';

const samples = fileURLToPath(new URL('../../public/samples/', import.meta.url));

async function overlayData(page) {
  const overlay = page.getByTestId('overlay');
  return {
    points: JSON.parse(await overlay.getAttribute('data-points')).map(([group, k, x, y, m]) => ({ group, k, x, y, m })),
    point: (await overlay.getAttribute('data-point')).split(',').map(Number),
  };
}

function weightsPerGroup(points) {
  const sums = new Map();
  for (const p of points) sums.set(p.group, (sums.get(p.group) ?? 0) + p.m);
  return [...sums.values()];
}

test('clicking the image shows the 9 sampling points of each group around it', async () => {
  const app = await openApp();
  try {
    await app.modelDescription().waitFor({ timeout: 120_000 });
    await app.chooseImage(`${samples}chelsea-the-cat.jpg`);
    await app.top5();
    const page = app.page;
    await page.getByTestId('explore').waitFor({ state: 'visible', timeout: 60_000 });

    // The first layer of the tiny model: level 0, 1 group, stride 4.
    await page.getByTestId('overlay').click({ position: { x: 101, y: 61 } });
    let data = await overlayData(page);
    assert.deepEqual(data.point, [50, 30]);
    assert.equal(data.points.length, 9);
    // Feature pixel (round(50/4), round(30/4)) = (13, 8): image (52, 32); offsets stay within a few pixels.
    for (const p of data.points) {
      assert.ok(Math.abs(p.x - 52) < 4 * 8 && Math.abs(p.y - 32) < 4 * 8, `point ${JSON.stringify(p)} near (52, 32)`);
    }
    weightsPerGroup(data.points).forEach((s) => assert.ok(Math.abs(s - 1) < 1e-3, `weights sum to ${s}`));
    assert.match(await page.getByTestId('explore-summary').textContent(), /Feature pixel \(13, 8\) = image \(52, 32\); 9 points/);

    // The last layer: level 3, 8 groups, stride 32.
    const options = await page.getByTestId('layer-select').locator('option').allTextContents();
    assert.equal(options.length, 5);
    await page.getByTestId('layer-select').selectOption({ index: 4 });
    data = await overlayData(page);
    assert.equal(data.points.length, 72);
    assert.deepEqual([...new Set(data.points.map((p) => p.group))], [0, 1, 2, 3, 4, 5, 6, 7]);
    weightsPerGroup(data.points).forEach((s) => assert.ok(Math.abs(s - 1) < 1e-3));
    // The receptive field of that pixel, followed down all 5 DCNv3 layers, beside the regular one.
    const field = async (id) => (await page.getByTestId(id).getAttribute('data-field')).split(',').map(Number);
    const [count, spread, total] = await field('field-deformable');
    const [regularCount, regularSpread, regularTotal] = await field('field-regular');
    assert.ok(count > 9 && spread > 0, `deformable field: ${count} locations, spread ${spread}`);
    assert.ok(regularCount > 9 && regularSpread > 4, `regular field: ${regularCount} locations, spread ${regularSpread}`);
    for (const t of [total, regularTotal]) assert.ok(t > 0.5 && t <= 1.0001, `field weight ${t}`);
    console.log(`fields: deformable ${count} locations spread ${spread} px, regular ${regularCount} spread ${regularSpread} px`);
    console.log(`screenshot: ${await app.screenshot('explore-last-layer-all-groups')}`);

    // The heat maps of that layer: offsets in pixels, weights between 1/9 and 1.
    const range = async (id) => (await page.getByTestId(id).getAttribute('data-range')).split(',').map(Number);
    const [, , offsetMean] = await range('map-offset');
    const [concentrationLow, concentrationHigh] = await range('map-concentration');
    const [spreadLow] = await range('map-spread');
    assert.ok(offsetMean > 0, `mean offset ${offsetMean}`);
    assert.ok(concentrationLow >= 1 / 9 - 1e-4 && concentrationHigh <= 1, `concentration ${concentrationLow}..${concentrationHigh}`);
    assert.ok(spreadLow > 0);
    assert.equal(await page.getByTestId('map-offset').evaluate((c) => `${c.width}x${c.height}`), '7x7');

    await page.getByTestId('group-select').selectOption('3');
    data = await overlayData(page);
    assert.equal(data.points.length, 9);
    assert.ok(data.points.every((p) => p.group === 3));

    // Keyboard: the arrow keys move the point by one feature pixel (32 image pixels here).
    await page.getByTestId('overlay').focus();
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual((await overlayData(page)).point, [18, 30]);
    console.log(`screenshot: ${await app.screenshot('explore-last-layer-group-3')}`);
    assert.deepEqual(app.consoleErrors, []);
  } finally {
    await app.close();
  }
});
