// What a person sees when the page opens, with and without WebGPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from './browser.mjs';

test('the page finds a WebGPU adapter and shows the DCNv3 kernel matching its reference', async () => {
  const app = await openApp();
  try {
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

test('a lost GPU device gives a message and a way back', async () => {
  const app = await openApp({ captureDevices: true });
  try {
    await app.modelDescription().waitFor({ timeout: 120_000 });
    await app.page.evaluate(() => window.__gpuDevices.forEach((device) => device.destroy()));
    // A readback that was under way may fail first; the device-lost message then replaces it.
    await app.page.getByText(/The GPU device was lost/).waitFor({ timeout: 60_000 });
    assert.match(await app.errorPanel().textContent(), /The GPU device was lost .*Reload the page/);
    console.log(`screenshot: ${await app.screenshot('device-lost')}`);
    await app.page.getByTestId('reload').click();
    await app.modelDescription().waitFor({ timeout: 120_000 });
    assert.equal(await app.errorPanel().count(), 0, 'after the reload the engine runs again');
  } finally {
    await app.close();
  }
});
