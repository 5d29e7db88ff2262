/**
 * The claim's run as one SVG, written by hand (no plotting library): orders
 * placed per second and arrivals against time (left axis), and the busiest
 * store's utilisation per second (right axis, 0 to 100%; for an object, its
 * requests/s over the 500/s planning limit, since that is what binds it).
 */
import type { Result } from "./report";

const W = 760;
const H = 340;
const M = { left: 64, right: 64, top: 40, bottom: 44 };

function esc(s: string): string {
	return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function path(points: Array<[number, number]>): string {
	return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

export function plotSvg(r: Result): string {
	const load = r.busiest;
	const t = r.throughput;
	const until = Math.min(t.length, r.window[1] + 10);
	const pw = W - M.left - M.right;
	const ph = H - M.top - M.bottom;
	const maxRate = Math.max(1, ...t.slice(0, until).map((p) => Math.max(p.arrived, p.placed)));
	const top = Math.ceil(maxRate / 2000) * 2000;
	const x = (s: number) => M.left + (s / until) * pw;
	const yl = (v: number) => M.top + ph - (v / top) * ph;
	const yr = (v: number) => M.top + ph - Math.min(1, v) * ph;
	const out: string[] = [];
	out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
	out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
	const c = r.config;
	out.push(`<text x="${M.left}" y="20" font-size="14" font-weight="bold">${esc(`Simulated: ${c.peakPerS.toLocaleString("en")} orders/s, ${c.hotShare * 100}% on one unit, N=${c.N}, S=${c.S}, warehouses per site ${c.warehousesPerSite}`)}</text>`);
	for (let i = 0; i <= 4; i++) {
		const v = (top / 4) * i;
		out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${yl(v)}" y2="${yl(v)}" stroke="#e5e5e5"/>`);
		out.push(`<text x="${M.left - 6}" y="${yl(v) + 4}" text-anchor="end">${v.toLocaleString("en")}</text>`);
		out.push(`<text x="${M.left + pw + 6}" y="${yr(i / 4) + 4}">${i * 25}%</text>`);
	}
	for (let s = 0; s <= until; s += 10) out.push(`<text x="${x(s)}" y="${M.top + ph + 16}" text-anchor="middle">${s}</text>`);
	out.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">seconds</text>`);
	out.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">orders/s</text>`);
	out.push(`<text transform="translate(${W - 10} ${M.top + ph / 2}) rotate(90)" text-anchor="middle">busiest store's load</text>`);
	out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${yr(0.6)}" y2="${yr(0.6)}" stroke="#c0392b" stroke-dasharray="4 4"/>`);
	const pts = (f: (p: (typeof t)[number]) => number): Array<[number, number]> => t.slice(0, until).map((p, i) => [x(i + 0.5), yl(f(p))]);
	out.push(`<path d="${path(pts((p) => p.arrived))}" fill="none" stroke="#999" stroke-width="1.5"/>`);
	out.push(`<path d="${path(pts((p) => p.placed))}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
	out.push(`<path d="${path(pts((p) => p.refused))}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>`);
	const lp: Array<[number, number]> = load.load.slice(0, until).map((v, i) => [x(i + 0.5), yr(v)]);
	out.push(`<path d="${path(lp)}" fill="none" stroke="#2ca02c" stroke-width="2"/>`);
	const legend: Array<[string, string]> = [
		["#999", "orders arriving/s"],
		["#1f77b4", "placed (201)/s"],
		["#ff7f0e", "sold out (409)/s"],
		["#2ca02c", `load of the busiest store: ${load.name} (${load.kind === "object" ? "requests/s ÷ 500" : "busy"})`],
		["#c0392b", "60% line"],
	];
	legend.forEach(([color, label], i) => {
		const ly = M.top + 12 + i * 16;
		out.push(`<line x1="${M.left + 10}" x2="${M.left + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
		out.push(`<text x="${M.left + 36}" y="${ly + 4}">${esc(label)}</text>`);
	});
	out.push("</svg>");
	return `${out.join("\n")}\n`;
}
