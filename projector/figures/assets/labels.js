// Which cluster labels a map shows at its current zoom, in the page (no server round trip, so a
// report does it offline): a label of level L shows once the view is zoomed in step**L times
// from all points (the reset view); then, in the source's order (coarse first, larger clusters
// first), a label shows only where it overlaps none shown before it.
// args: fig, source (x, y, text, px: font size in pixels, level), filter (IndexFilter of the
// label renderers), step, extent ([width, height] of the labels, when the ranges have no reset).
const xr = fig.x_range, yr = fig.y_range;
const spanOf = (range, fallback) => {
  const full = Math.abs((range.reset_end ?? NaN) - (range.reset_start ?? NaN));
  return Number.isFinite(full) && full > 0 ? full : fallback;
};
const xspan = Math.abs(xr.end - xr.start) || 1, yspan = Math.abs(yr.end - yr.start) || 1;
const zoom = Math.max(spanOf(xr, extent[0]) / xspan, spanOf(yr, extent[1]) / yspan, 1);
const finest = Math.floor(Math.log(zoom) / Math.log(step) + 1e-9);
const data = source.data;
const width = fig.inner_width, height = fig.inner_height;
const measure = Number.isFinite(width) && Number.isFinite(height) && width > 0 && height > 0;
const kept = [], boxes = [];
const x0 = Math.min(xr.start, xr.end), y0 = Math.min(yr.start, yr.end);
for (let i = 0; i < data.x.length; i++) {
  if (data.level[i] > finest) continue;
  if (measure) {
    const sx = (data.x[i] - x0) / xspan * width, sy = (data.y[i] - y0) / yspan * height;
    const px = data.px[i], half = 0.3 * px * String(data.text[i]).length + 2;
    const box = [sx - half, sy - 0.65 * px, sx + half, sy + 0.65 * px];
    if (box[2] < 0 || box[0] > width || box[3] < 0 || box[1] > height) continue;
    if (boxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
    boxes.push(box);
  }
  kept.push(i);
}
const now = filter.indices ?? [];
if (now.length !== kept.length || kept.some((v, j) => v !== now[j])) filter.indices = kept;
