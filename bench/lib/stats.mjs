// Percentiles and plain-text / Markdown tables.

/** Nearest-rank percentile of an unsorted list of numbers (null when empty). */
export function percentile(values, p) {
	if (values.length === 0) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
	return sorted[Math.min(sorted.length, rank) - 1];
}

export function latencySummary(values) {
	const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
	return {
		n: values.length,
		p50: round(percentile(values, 50)),
		p95: round(percentile(values, 95)),
		p99: round(percentile(values, 99)),
		max: round(values.length ? Math.max(...values) : null),
		mean: round(values.length ? values.reduce((s, v) => s + v, 0) / values.length : null),
	};
}

export function ratio(a, b, digits = 2) {
	if (a === null || b === null || a === undefined || b === undefined || b === 0) return null;
	return Math.round((a / b) * 10 ** digits) / 10 ** digits;
}

function cell(v) {
	if (v === null || v === undefined) return "n/a";
	if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 10) / 10);
	return String(v);
}

/** columns: [{ key, title, align? }]; rows: objects. Markdown pipes; aligned for the terminal too. */
export function table(columns, rows) {
	const cells = rows.map((r) => columns.map((c) => cell(typeof c.key === "function" ? c.key(r) : r[c.key])));
	const widths = columns.map((c, i) => Math.max(c.title.length, 3, ...cells.map((row) => row[i].length)));
	const line = (values) => `| ${values.map((v, i) => (columns[i].align === "left" ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(" | ")} |`;
	const rule = `|${widths.map((w, i) => (columns[i].align === "left" ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
	return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join("\n");
}
