/**
 * Charts for reports as SVG strings, drawn on the server with d3-scale (axes, ticks) and
 * d3-shape (line and area paths) — no browser and no DOM: the libraries compute geometry,
 * this module writes the few SVG elements around it. Every text is escaped.
 */
import { scaleBand, scaleLinear } from 'd3-scale';
import { area, line } from 'd3-shape';

const W = 640;
const H = 240;
const M = { top: 28, right: 16, bottom: 36, left: 48 };
const FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#444"';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><rect width="${W}" height="${H}" fill="#fff"/><text x="${M.left}" y="18" font-family="system-ui, sans-serif" font-size="13" font-weight="600" fill="#222">${esc(title)}</text>${body}</svg>`;
}

function yAxis(y: ReturnType<typeof scaleLinear<number, number>>): string {
  return y
    .ticks(4)
    .map(
      (t) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end" ${FONT}>${t}</text>`,
    )
    .join('');
}

/** A line (with a light area) over labelled points, e.g. engagements per day. */
export function lineChart(title: string, points: Array<{ label: string; value: number }>): string {
  const x = scaleBand<number>()
    .domain(points.map((_, i) => i))
    .range([M.left, W - M.right])
    .padding(0.5);
  const max = Math.max(1, ...points.map((p) => p.value));
  const y = scaleLinear<number, number>()
    .domain([0, max])
    .nice()
    .range([H - M.bottom, M.top]);
  const cx = (i: number) => x(i)! + x.bandwidth() / 2;
  const path = line<{ value: number }>()
    .x((_, i) => cx(i))
    .y((p) => y(p.value))(points);
  const fill = area<{ value: number }>()
    .x((_, i) => cx(i))
    .y0(y(0))
    .y1((p) => y(p.value))(points);
  const labels = points
    .map((p, i) => `<text x="${cx(i)}" y="${H - M.bottom + 16}" text-anchor="middle" ${FONT}>${esc(p.label)}</text>`)
    .join('');
  const dots = points.map((p, i) => `<circle cx="${cx(i)}" cy="${y(p.value)}" r="3" fill="#2563eb"/>`).join('');
  return frame(
    title,
    `${yAxis(y)}<path d="${fill ?? ''}" fill="#2563eb" fill-opacity="0.12"/><path d="${path ?? ''}" fill="none" stroke="#2563eb" stroke-width="2"/>${dots}${labels}`,
  );
}

/** Bars for this period beside the previous one, per category (e.g. engagements per platform). */
export function pairedBarChart(
  title: string,
  bars: Array<{ label: string; current: number; previous: number }>,
  legend: { current: string; previous: string },
): string {
  const x = scaleBand<string>()
    .domain(bars.map((b) => b.label))
    .range([M.left, W - M.right])
    .padding(0.3);
  const max = Math.max(1, ...bars.flatMap((b) => [b.current, b.previous]));
  const y = scaleLinear<number, number>()
    .domain([0, max])
    .nice()
    .range([H - M.bottom, M.top]);
  const half = x.bandwidth() / 2;
  const rect = (bx: number, v: number, color: string) =>
    `<rect x="${bx}" y="${y(v)}" width="${half - 2}" height="${y(0) - y(v)}" fill="${color}"/>`;
  const body = bars
    .map((b) => {
      const bx = x(b.label)!;
      return `${rect(bx, b.previous, '#cbd5e1')}${rect(bx + half, b.current, '#2563eb')}<text x="${bx + half}" y="${H - M.bottom + 16}" text-anchor="middle" ${FONT}>${esc(b.label)}</text>`;
    })
    .join('');
  const key = `<rect x="${W - 220}" y="8" width="10" height="10" fill="#cbd5e1"/><text x="${W - 206}" y="17" ${FONT}>${esc(legend.previous)}</text><rect x="${W - 120}" y="8" width="10" height="10" fill="#2563eb"/><text x="${W - 106}" y="17" ${FONT}>${esc(legend.current)}</text>`;
  return frame(title, `${yAxis(y)}${body}${key}`);
}
