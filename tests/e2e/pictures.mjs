// Reading what the page drew: canvas pixels, the colours the page means, and the inverse of
// the heat maps' colour ramp. Every picture check of the suite goes through here.

/// The RGBA bytes of a canvas (by test id), as { width, height, data }.
export async function canvasPixels(page, testId) {
  return page.getByTestId(testId).evaluate((canvas) => {
    const { width, height } = canvas;
    const data = Array.from(canvas.getContext('2d').getImageData(0, 0, width, height).data);
    return { width, height, data };
  });
}

/// The RGBA bytes of a PNG file, decoded by the browser.
export async function pngPixels(page, bytes) {
  return page.evaluate(async (base64) => {
    const blob = await (await fetch(`data:image/png;base64,${base64}`)).blob();
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    const { width, height } = canvas;
    return { width, height, data: Array.from(context.getImageData(0, 0, width, height).data) };
  }, Buffer.from(bytes).toString('base64'));
}

export function pixelAt({ width, data }, x, y) {
  const i = 4 * (Math.floor(y) * width + Math.floor(x));
  return data.slice(i, i + 4);
}

/// `hsl(h, s%, l%)` as the page writes a group's colour, in 8-bit RGB.
export function hslToRgb(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/// The page's colour of `group` out of `groups` (app/src/explore.rs: group_colour).
export function groupColour(group, groups) {
  return hslToRgb((360 * group) / Math.max(groups, 1), 0.85, 0.5);
}

export function near(rgb, expected, tolerance) {
  return expected.every((v, c) => Math.abs(rgb[c] - v) <= tolerance);
}

// The heat maps' ramp (app/src/explore.rs: ramp), to read a value back from a colour.
const STOPS = [[12, 7, 60], [90, 20, 120], [190, 50, 100], [245, 140, 40], [252, 245, 170]];
function ramp(t) {
  const x = Math.min(Math.max(t, 0), 1) * (STOPS.length - 1);
  const i = Math.min(Math.floor(x), STOPS.length - 2);
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(STOPS[i][c] + f * (STOPS[i + 1][c] - STOPS[i][c])));
}
const RAMP = Array.from({ length: 1001 }, (_, i) => [i / 1000, ramp(i / 1000)]);

/// The t in [0, 1] whose ramp colour is nearest to `rgb`, and how far that colour is.
export function rampPosition(rgb) {
  let best = [0, Infinity];
  for (const [t, c] of RAMP) {
    const d = Math.hypot(c[0] - rgb[0], c[1] - rgb[1], c[2] - rgb[2]);
    if (d < best[1]) best = [t, d];
  }
  return best;
}
