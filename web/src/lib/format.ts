/** Display helpers shared by the pages. */
export function money(amount: number, currency = "USD"): string {
	return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);
}

export function dateTime(iso: string | null | undefined): string {
	if (!iso) return "";
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

/** Month, day and time: for lists, where the year is noise. */
export function shortDateTime(iso: string | null | undefined): string {
	if (!iso) return "";
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

export function day(iso: string | null | undefined): string {
	if (!iso) return "";
	const d = new Date(`${iso.slice(0, 10)}T12:00:00Z`);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });
}

/** A fresh key for one checkout attempt (a retry of the same attempt reuses it). */
export function newKey(): string {
	return crypto.randomUUID();
}
