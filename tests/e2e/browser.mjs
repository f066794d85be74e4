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

/// The two widths every screen is judged at.
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/// A fresh browser (a fresh profile: nothing stored) on the app, at `query` (a link's `?…`).
export async function openApp({ withoutWebGpu = false, captureDevices = false, beforeLoad = null, query = '', viewport = DESKTOP, args = [] } = {}) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...args], headless: true });
  const page = await browser.newPage({ viewport, acceptDownloads: true });
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
  await page.goto(`${APP_URL}${query}`);
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

  /// Opens the closed Diagnostics section.
  async openDiagnostics() {
    const details = this.page.getByTestId('diagnostics');
    if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
  }

  /// Clicks the overlay at image point (x, y), whatever size the canvas is shown at.
  async clickImage(x, y) {
    const overlay = this.page.getByTestId('overlay');
    const { shownScale } = await this.overlayScale();
    await overlay.click({ position: { x: (x + 0.5) * shownScale, y: (y + 0.5) * shownScale } });
  }

  /// Canvas pixels per image pixel, and CSS pixels per image pixel as shown.
  async overlayScale() {
    return this.page.getByTestId('overlay').evaluate((c) => ({
      canvasScale: c.width / 224,
      shownScale: c.clientWidth / 224,
    }));
  }

  modelDescription() {
    return this.page.getByTestId('model-description');
  }

  async chooseImage(path) {
    await this.page.getByTestId('image-input').setInputFiles(path);
  }

  /// Once the model is loaded, presses the sample button `name` (e.g. 'heart') and returns its
  /// top-5 once shown with its sampling.
  async showSample(name) {
    await this.modelDescription().waitFor({ timeout: 120_000 });
    await this.page.getByTestId(`sample-${name}`).click();
    return this.top5();
  }

  /// The top-5 rows as { label, percent } once a classification is shown, with the image and
  /// its sampling (which follow the top-5). Read in the same turn as the check: a camera's next
  /// frame may replace them a moment later.
  async top5() {
    const rows = await this.page.waitForFunction(() => {
      const panel = document.querySelector('[data-testid="prediction"]');
      const rows = [...document.querySelectorAll('[data-testid="top5-row"]')];
      if (panel?.dataset.explored !== 'true' || rows.length === 0) return null;
      return rows.map((row) => ({
        label: row.querySelector('.label').textContent,
        percent: Number(row.querySelector('.num').textContent.replace('%', '')),
      }));
    }, null, { timeout: 300_000 });
    return rows.jsonValue();
  }

  /// Waits until the image and the sampling shown are those of the top-5 shown.
  async explored() {
    await this.page.waitForFunction(
      () => document.querySelector('[data-testid="prediction"]')?.dataset.explored === 'true',
      null,
      { timeout: 300_000 },
    );
  }

  errorPanel() {
    return this.page.getByTestId('error');
  }

  /// Runs the self-check from the diagnostics and waits until all four DCNv3 rows are in;
  /// SwiftShader takes its time.
  async kernelChecks(count = 4) {
    await this.openDiagnostics();
    await this.page.getByTestId('run-checks').click();
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

  /// A full-page screenshot at a phone's width (390 x 844), then back to the width before.
  async phoneScreenshot(name) {
    const before = this.page.viewportSize();
    await this.page.setViewportSize(PHONE);
    await this.page.waitForTimeout(400);
    const path = await this.screenshot(name);
    await this.page.setViewportSize(before);
    await this.page.waitForTimeout(200);
    return path;
  }

  async close() {
    await this.browser.close();
  }
}
