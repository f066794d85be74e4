// The page object of the app and the one way the suite starts Chromium.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Debian's Chromium; WebGPU comes from SwiftShader on the CPU. Playwright adds --headless and a
// fresh profile itself.
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];
export const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:8080/';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? 'screenshots';

export async function openApp({ withoutWebGpu = false, captureDevices = false, beforeLoad = null } = {}) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 }, acceptDownloads: true });
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  if (withoutWebGpu) {
    // A browser that never shipped WebGPU: the property does not exist at all.
    await page.addInitScript(() => {
      delete Navigator.prototype.gpu;
      delete WorkerNavigator?.prototype?.gpu;
    });
  }
  if (captureDevices) {
    // Keep every GPUDevice the page opens, so a test can destroy it as a driver reset would.
    await page.addInitScript(() => {
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await request.apply(this, args);
        (window.__gpuDevices ??= []).push(device);
        return device;
      };
    });
  }
  if (beforeLoad) await beforeLoad(page);
  await page.goto(APP_URL);
  return new AppPage(browser, page, consoleErrors);
}

export class AppPage {
  constructor(browser, page, consoleErrors) {
    this.browser = browser;
    this.page = page;
    this.consoleErrors = consoleErrors;
  }

  adapterName() {
    return this.page.getByTestId('adapter-name');
  }

  modelDescription() {
    return this.page.getByTestId('model-description');
  }

  async chooseImage(path) {
    await this.page.getByTestId('image-input').setInputFiles(path);
  }

  /// The top-5 rows as { label, percent } once a classification is shown.
  async top5() {
    await this.page.getByTestId('top5').waitFor({ timeout: 300_000 });
    return this.page.getByTestId('top5-row').evaluateAll((rows) =>
      rows.map((row) => ({
        label: row.querySelector('.label').textContent,
        percent: Number(row.querySelector('.num').textContent.replace('%', '')),
      })),
    );
  }

  errorPanel() {
    return this.page.getByTestId('error');
  }

  /// Waits until all four DCNv3 self-check rows are in; SwiftShader takes its time.
  async kernelChecks(count = 4) {
    await this.page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="dcnv3-row"]').length >= n,
      count,
      { timeout: 600_000 },
    );
    return this.page.getByTestId('dcnv3-row').evaluateAll((rows) =>
      rows.map((row) => ({
        passed: row.dataset.passed === 'true',
        cells: [...row.querySelectorAll('td')].map((td) => td.textContent.trim()),
      })),
    );
  }

  async screenshot(name) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  async close() {
    await this.browser.close();
  }
}
