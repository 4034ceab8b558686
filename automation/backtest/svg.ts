/**
 * A hand-written SVG chart: the load (as replicas needed at the target utilisation, shaded) and the
 * replicas of each policy (step lines) over a window of time.
 */

export interface ChartSeries {
  readonly name: string;
  readonly t: readonly number[];
  readonly v: readonly number[];
}

export interface ChartInput {
  readonly title: string;
  readonly subtitle?: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** Load in replicas-at-target units (load / (u × C)). */
  readonly load: ChartSeries;
  readonly policies: readonly ChartSeries[];
  readonly yMax: number;
}

const palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#111111", "#ff7f0e", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function renderChart(c: ChartInput): string {
  const W = 1200;
  const H = 460;
  const m = { l: 50, r: 190, t: 50, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const span = Math.max(1, c.toMs - c.fromMs);
  const x = (t: number) => m.l + ((t - c.fromMs) / span) * pw;
  const yMax = Math.max(1, c.yMax);
  const y = (v: number) => m.t + ph - (Math.max(0, Math.min(v, yMax)) / yMax) * ph;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  if (c.subtitle) out.push(`<text x="${m.l}" y="38" fill="#555">${esc(c.subtitle)}</text>`);
  // Grid: horizontal every ~5 replicas, vertical at each UTC midnight.
  const yStep = Math.max(1, Math.ceil(yMax / 8));
  for (let v = 0; v <= yMax; v += yStep) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${f(y(v) + 4)}" text-anchor="end" fill="#555">${v}</text>`);
  }
  const day = 86_400_000;
  for (let d = Math.ceil(c.fromMs / day) * day; d <= c.toMs; d += day) {
    out.push(`<line x1="${f(x(d))}" x2="${f(x(d))}" y1="${m.t}" y2="${m.t + ph}" stroke="#ddd"/>`);
    out.push(`<text x="${f(x(d) + 3)}" y="${m.t + ph + 14}" fill="#555">${new Date(d).toISOString().slice(5, 10)}</text>`);
  }
  out.push(`<text x="14" y="${m.t + ph / 2}" transform="rotate(-90 14 ${m.t + ph / 2})" text-anchor="middle" fill="#555">replicas</text>`);
  // Load, shaded.
  const lp: string[] = [`${f(x(c.load.t[0] ?? c.fromMs))},${f(y(0))}`];
  for (let i = 0; i < c.load.t.length; i++) {
    const t = c.load.t[i]!;
    const next = c.load.t[i + 1] ?? c.toMs;
    lp.push(`${f(x(t))},${f(y(c.load.v[i]!))}`, `${f(x(next))},${f(y(c.load.v[i]!))}`);
  }
  lp.push(`${f(x(c.load.t[c.load.t.length - 1] ?? c.toMs))},${f(y(0))}`);
  out.push(`<polygon points="${lp.join(" ")}" fill="#cfcfcf" fill-opacity="0.7" stroke="none"/>`);
  // Policies, step lines.
  c.policies.forEach((p, k) => {
    const pts: string[] = [];
    for (let i = 0; i < p.t.length; i++) {
      const t = p.t[i]!;
      const next = p.t[i + 1] ?? c.toMs;
      pts.push(`${f(x(t))},${f(y(p.v[i]!))}`, `${f(x(next))},${f(y(p.v[i]!))}`);
    }
    out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${palette[k % palette.length]}" stroke-width="1.3" stroke-opacity="0.9"/>`);
  });
  // Legend.
  const lx = m.l + pw + 15;
  out.push(`<rect x="${lx}" y="${m.t}" width="14" height="10" fill="#cfcfcf"/><text x="${lx + 20}" y="${m.t + 9}">${esc(c.load.name)}</text>`);
  c.policies.forEach((p, k) => {
    const ly = m.t + 20 + k * 18;
    out.push(`<line x1="${lx}" x2="${lx + 14}" y1="${ly + 5}" y2="${ly + 5}" stroke="${palette[k % palette.length]}" stroke-width="2"/><text x="${lx + 20}" y="${ly + 9}">${esc(p.name)}</text>`);
  });
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
