/**
 * What kind of host a webhook URL points at, so that endpoints cannot aim the
 * Worker's requests inward (loopback, private networks, cloud metadata). Pure:
 * takes a hostname as `new URL()` gives it. WHATWG's parser already folds IPv4
 * spellings (decimal, hex, octal, short forms) into dotted quads, but the
 * hostname is parsed again here by the same rules, so the check does not rest
 * on the caller having normalised it.
 *
 * Names are judged by their spelling only: a public name whose DNS answer is a
 * private address is not caught here (workerd does not expose resolution).
 */

export type HostKind =
	| "public"
	| "loopback"
	| "private"
	| "link_local"
	| "cgnat"
	| "multicast"
	| "unspecified"
	| "reserved"
	| "metadata"
	| "internal_name"
	| "invalid";

/** [first address, prefix length, kind], checked in order: the first match wins. */
type V4Range = readonly [string, number, HostKind];

const V4_RANGES: readonly V4Range[] = [
	// Cloud metadata services, named before their enclosing ranges.
	["169.254.169.254", 32, "metadata"],
	["100.100.100.200", 32, "metadata"],
	["0.0.0.0", 32, "unspecified"],
	["0.0.0.0", 8, "reserved"],
	["10.0.0.0", 8, "private"],
	["100.64.0.0", 10, "cgnat"],
	["127.0.0.0", 8, "loopback"],
	["169.254.0.0", 16, "link_local"],
	["172.16.0.0", 12, "private"],
	["192.0.0.0", 24, "reserved"],
	["192.0.2.0", 24, "reserved"],
	["192.88.99.0", 24, "reserved"],
	["192.168.0.0", 16, "private"],
	["198.18.0.0", 15, "reserved"],
	["198.51.100.0", 24, "reserved"],
	["203.0.113.0", 24, "reserved"],
	["224.0.0.0", 4, "multicast"],
	["240.0.0.0", 4, "reserved"],
];

function dotted(s: string): number {
	return s.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

const V4_TABLE = V4_RANGES.map(([start, bits, kind]) => ({ start: dotted(start), size: 2 ** (32 - bits), kind }));

/** The kind of an IPv4 address given as an unsigned 32-bit number. */
export function classifyV4(addr: number): HostKind {
	for (const r of V4_TABLE) if (addr >= r.start && addr < r.start + r.size) return r.kind;
	return "public";
}

/**
 * One IPv4 part as WHATWG reads it: `0x` hex, a leading `0` octal, else
 * decimal; null when it is not a number in that base.
 */
function v4Part(part: string): number | null {
	let digits = part;
	let radix = 10;
	if (/^0x/i.test(part)) {
		digits = part.slice(2);
		radix = 16;
		if (digits === "") return 0;
	} else if (part.length > 1 && part.startsWith("0")) {
		digits = part.slice(1);
		radix = 8;
	}
	const pattern = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
	if (!pattern.test(digits)) return null;
	// Digits past 2^53 stay above every bound below, so precision does not matter.
	return parseInt(digits, radix);
}

/** The WHATWG "ends in a number" test: such a host must be an IPv4 address. */
function endsInNumber(host: string): boolean {
	const parts = host.split(".");
	if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
	const last = parts[parts.length - 1] ?? "";
	return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

/** An IPv4 host in any WHATWG spelling (1 to 4 parts, each decimal, hex or octal) as a 32-bit number; null if it is not one. */
export function parseV4(host: string): number | null {
	const parts = host.split(".");
	if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
	if (parts.length === 0 || parts.length > 4) return null;
	const nums: number[] = [];
	for (const p of parts) {
		if (p === "") return null;
		const n = v4Part(p);
		if (n === null) return null;
		nums.push(n);
	}
	const last = nums.pop()!;
	if (nums.some((n) => n > 255)) return null;
	if (last >= 256 ** (4 - nums.length)) return null;
	return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

/** An IPv6 address (no brackets) as 8 groups of 16 bits, with a dotted IPv4 tail allowed; null if malformed. */
export function parseV6(text: string): number[] | null {
	let s = text.toLowerCase();
	let tail: number[] = [];
	const lastColon = s.lastIndexOf(":");
	if (lastColon < 0) return null;
	if (s.includes(".", lastColon)) {
		const v4 = s.slice(lastColon + 1);
		if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(v4)) return null;
		const octets = v4.split(".").map(Number);
		if (octets.some((o) => o > 255)) return null;
		tail = [octets[0]! * 256 + octets[1]!, octets[2]! * 256 + octets[3]!];
		// Keep a "::" that ends right before the IPv4 tail ("::1.2.3.4"); drop a lone separating ":".
		s = s[lastColon - 1] === ":" ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
	}
	const halves = s.split("::");
	if (halves.length > 2) return null;
	const group = (g: string) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : null);
	const side = (h: string | undefined): number[] | null => {
		if (h === undefined || h === "") return [];
		const out: number[] = [];
		for (const g of h.split(":")) {
			const n = group(g);
			if (n === null) return null;
			out.push(n);
		}
		return out;
	};
	const head = side(halves[0]);
	const rest = side(halves[1]);
	if (head === null || rest === null) return null;
	const given = head.length + rest.length + tail.length;
	if (halves.length === 1) return given === 8 ? [...head, ...tail] : null;
	if (given > 7) return null;
	return [...head, ...Array<number>(8 - given).fill(0), ...rest, ...tail];
}

const v4Of = (hi: number, lo: number) => hi * 65536 + lo;

/** The kind of an IPv6 address; IPv4 embedded in it (mapped, compatible, NAT64, 6to4) is judged as that IPv4 address. */
export function classifyV6(g: number[]): HostKind {
	const [a, b, c, d, e, f, h, i] = g as [number, number, number, number, number, number, number, number];
	const zeroHead = a === 0 && b === 0 && c === 0 && d === 0;
	if (zeroHead && e === 0 && f === 0 && h === 0 && i === 0) return "unspecified";
	if (zeroHead && e === 0 && f === 0 && h === 0 && i === 1) return "loopback";
	// ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), ::ffff:0:a.b.c.d (translated).
	if (zeroHead && e === 0 && (f === 0xffff || f === 0)) return classifyV4(v4Of(h, i));
	if (zeroHead && e === 0xffff && f === 0) return classifyV4(v4Of(h, i));
	// NAT64 well-known prefix 64:ff9b::/96 carries an IPv4 address; 64:ff9b:1::/48 is for local use.
	if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return classifyV4(v4Of(h, i));
	if (a === 0x64 && b === 0xff9b && c === 1) return "private";
	// 6to4 2002::/16 carries an IPv4 address in its next 32 bits.
	if (a === 0x2002) return classifyV4(v4Of(b, c));
	if (a === 0xfd00 && b === 0x0ec2 && c === 0 && d === 0 && e === 0 && f === 0 && h === 0 && i === 0x254) return "metadata";
	if ((a & 0xfe00) === 0xfc00) return "private";
	if ((a & 0xffc0) === 0xfe80) return "link_local";
	if ((a & 0xffc0) === 0xfec0) return "private";
	if ((a & 0xff00) === 0xff00) return "multicast";
	// Teredo, documentation, the discard prefix and the rest of the IETF's own blocks.
	if (a === 0x2001 && b === 0) return "reserved";
	if (a === 0x2001 && b === 0x0db8) return "reserved";
	if (a === 0x0100 && b === 0 && c === 0 && d === 0) return "reserved";
	if (a === 0x3fff && b < 0x1000) return "reserved";
	if (a < 0x2000 || a >= 0x4000) return "reserved";
	return "public";
}

const METADATA_NAMES = new Set(["metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]);
const INTERNAL_SUFFIXES = ["internal", "local", "localdomain", "home.arpa", "lan", "intranet", "corp"];

/** The kind of host `hostname` (as `URL.hostname` gives it: lower case, IPv6 in brackets). */
export function classifyHost(hostname: string): HostKind {
	const host = hostname.toLowerCase();
	if (host.startsWith("[")) {
		if (!host.endsWith("]")) return "invalid";
		const groups = parseV6(host.slice(1, -1));
		return groups ? classifyV6(groups) : "invalid";
	}
	if (host.includes(":") || host.includes("%")) return "invalid";
	if (endsInNumber(host)) {
		const v4 = parseV4(host);
		return v4 === null ? "invalid" : classifyV4(v4);
	}
	const name = host.replace(/\.+$/, "");
	if (name === "" || name.includes("..")) return "invalid";
	if (METADATA_NAMES.has(name)) return "metadata";
	if (name === "localhost" || name.endsWith(".localhost")) return "loopback";
	// A single label is completed by the resolver's search domains: an internal name.
	if (!name.includes(".")) return "internal_name";
	const label = (suffix: string) => name === suffix || name.endsWith(`.${suffix}`);
	if (INTERNAL_SUFFIXES.some(label)) return "internal_name";
	return "public";
}

const DESCRIPTIONS: Record<Exclude<HostKind, "public">, string> = {
	loopback: "a loopback address",
	private: "a private address",
	link_local: "a link-local address",
	cgnat: "a carrier-grade NAT address",
	multicast: "a multicast address",
	unspecified: "the unspecified address",
	reserved: "a reserved address",
	metadata: "a cloud metadata service",
	internal_name: "an internal name",
	invalid: "not a valid host",
};

export function describeKind(kind: Exclude<HostKind, "public">): string {
	return DESCRIPTIONS[kind];
}
