/** The shopper's sign-in, kept in this browser only (localStorage). */
export interface Shopper {
	user_id: string;
	token: string;
}

const KEY = "stockgate.shopper";

export const DEMO_CUSTOMERS = [
	{ user_id: "demo-customer", name: "Dana (has orders)" },
	{ user_id: "demo-alice", name: "Alice" },
	{ user_id: "demo-bob", name: "Bob" },
];

export function loadShopper(): Shopper | null {
	try {
		const v = JSON.parse(localStorage.getItem(KEY) ?? "null") as Shopper | null;
		return v && typeof v.token === "string" && typeof v.user_id === "string" ? v : null;
	} catch {
		return null;
	}
}

export function saveShopper(s: Shopper | null): void {
	if (s) localStorage.setItem(KEY, JSON.stringify(s));
	else localStorage.removeItem(KEY);
}

/** The `sub` of a pasted token, for display only (the server checks the token). */
export function subjectOf(token: string): string {
	try {
		const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: unknown };
		return typeof payload.sub === "string" ? payload.sub : "customer";
	} catch {
		return "customer";
	}
}
