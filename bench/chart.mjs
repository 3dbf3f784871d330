// SVG latency percentile charts shared by the bench scripts (bench/latency/run.mjs,
// bench/nexmark/run.mjs): one panel of curves, x the percentile on a log scale of 1/(1-p)
// (so 90%, 99%, 99.9% are evenly spaced), y the latency in ms on a log scale.

/** Series colors, one per case; the engines or brokers of a case differ by dash. */
export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/**
 * One panel at (x0, y0), w by h. series: [{ label, dist: [[percentile, ms], ...], color,
 * dash?, width? }]; returns SVG elements (no <svg> wrapper), or '' when no series has a point.
 */
export function chartPanel(title, series, x0, y0, w, h) {
  const pts = series.flatMap((s) => s.dist.filter(([p, v]) => p < 100 && v > 0));
  if (!pts.length) return '';
  const xMax = Math.max(2, Math.ceil(Math.max(...pts.map(([p]) => Math.log10(1 / (1 - p / 100))))));
  const yLo = Math.floor(Math.log10(Math.min(...pts.map(([, v]) => v))));
  const yHi = Math.ceil(Math.log10(Math.max(...pts.map(([, v]) => v))));
  const X = (p) => x0 + (Math.log10(1 / (1 - p / 100)) / xMax) * w;
  const Y = (v) => y0 + h - ((Math.log10(v) - yLo) / Math.max(1, yHi - yLo)) * h;
  let g = `<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-weight="bold">${title}</text>\n`;
  g += `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>\n`;
  for (let d = 0; d <= xMax; d++) {
    const x = x0 + (d / xMax) * w;
    const label = d === 0 ? '0%' : `${(100 - 100 / 10 ** d).toFixed(Math.max(0, d - 2))}%`;
    g += `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + h}" stroke="#eee"/><text x="${x}" y="${y0 + h + 16}" text-anchor="middle">${label}</text>\n`;
  }
  for (let e = yLo; e <= yHi; e++) {
    const y = Y(10 ** e);
    g += `<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#eee"/><text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} ms</text>\n`;
  }
  g += `<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle">percentile</text>\n`;
  series.forEach((s, i) => {
    const d = s.dist.filter(([p, v]) => p < 100 && v > 0).map(([p, v], j) => `${j ? 'L' : 'M'}${X(p).toFixed(1)},${Y(v).toFixed(1)}`).join('');
    g += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>\n`;
    const ly = y0 + 14 + i * 16;
    g += `<line x1="${x0 + 10}" y1="${ly - 4}" x2="${x0 + 34}" y2="${ly - 4}" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${x0 + 40}" y="${ly}">${s.label}</text>\n`;
  });
  return g;
}
