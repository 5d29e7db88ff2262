/**
 * Which hosts a webhook may target. Each URL goes through workerd's own
 * `new URL()` first (as the route and the delivery do), then the hostname is
 * classified; raw spellings are also classified directly, so the module does
 * not rely on the parser having folded them.
 */
import { describe, expect, it } from "vitest";
import { classifyHost, parseV4, parseV6, type HostKind } from "../../src/webhooks/target";
import { urlProblem } from "../../src/webhooks/url";

const viaUrl = (raw: string) => classifyHost(new URL(raw).hostname);

describe("hosts refused in every spelling", () => {
	it.each<[string, HostKind]>([
		// IPv4 loopback, dotted and otherwise.
		["https://127.0.0.1/h", "loopback"],
		["https://127.1/h", "loopback"],
		["https://127.0.1/h", "loopback"],
		["https://2130706433/h", "loopback"],
		["https://0x7f000001/h", "loopback"],
		["https://0x7f.1/h", "loopback"],
		["https://0x7f.0x0.0x0.0x1/h", "loopback"],
		["https://0177.0.0.1/h", "loopback"],
		["https://017700000001/h", "loopback"],
		["https://127.000.000.001/h", "loopback"],
		["https://127.255.255.254/h", "loopback"],
		["https://%31%32%37.0.0.1/h", "loopback"],
		["https://\uFF11\uFF12\uFF17.0.0.1/h", "loopback"],
		["https://127.0.0.1./h", "loopback"],
		// Unspecified and "this network".
		["https://0.0.0.0/h", "unspecified"],
		["https://0/h", "unspecified"],
		["https://0.0.0.0x7f/h", "reserved"],
		["https://0.1.2.3/h", "reserved"],
		// Private, CGNAT, link-local, metadata.
		["https://10.0.0.1/h", "private"],
		["https://012.0.0.1/h", "private"],
		["https://167772161/h", "private"],
		["https://172.16.0.1/h", "private"],
		["https://172.31.255.255/h", "private"],
		["https://192.168.0.1:22/h", "private"],
		["https://0xc0a80001/h", "private"],
		["https://100.64.0.1/h", "cgnat"],
		["https://100.127.255.254/h", "cgnat"],
		["https://169.254.1.1/h", "link_local"],
		["https://169.254.169.254/latest/meta-data/", "metadata"],
		["https://2852039166/h", "metadata"],
		["https://0xa9.0xfe.0xa9.0xfe/h", "metadata"],
		["https://169.254.169.254./h", "metadata"],
		["https://100.100.100.200/h", "metadata"],
		["https://metadata.google.internal/h", "metadata"],
		["https://metadata.google.internal./h", "metadata"],
		["https://METADATA.GOOGLE.INTERNAL/h", "metadata"],
		// Reserved, benchmark, documentation, multicast, broadcast.
		["https://192.0.0.1/h", "reserved"],
		["https://192.0.2.1/h", "reserved"],
		["https://198.18.0.1/h", "reserved"],
		["https://198.19.255.255/h", "reserved"],
		["https://198.51.100.7/h", "reserved"],
		["https://203.0.113.9/h", "reserved"],
		["https://224.0.0.1/h", "multicast"],
		["https://239.255.255.250/h", "multicast"],
		["https://240.0.0.1/h", "reserved"],
		["https://255.255.255.255/h", "reserved"],
		["https://4294967295/h", "reserved"],
		// IPv6.
		["https://[::1]/h", "loopback"],
		["https://[0:0:0:0:0:0:0:1]/h", "loopback"],
		["https://[::]/h", "unspecified"],
		["https://[::ffff:127.0.0.1]/h", "loopback"],
		["https://[::ffff:7f00:1]/h", "loopback"],
		["https://[0:0:0:0:0:ffff:a9fe:a9fe]/h", "metadata"],
		["https://[::ffff:10.0.0.1]/h", "private"],
		["https://[::127.0.0.1]/h", "loopback"],
		["https://[::10.0.0.1]/h", "private"],
		["https://[::ffff:0:192.168.0.1]/h", "private"],
		["https://[64:ff9b::127.0.0.1]/h", "loopback"],
		["https://[64:ff9b::10.0.0.1]/h", "private"],
		["https://[64:ff9b::a9fe:a9fe]/h", "metadata"],
		["https://[64:ff9b:1::1]/h", "private"],
		["https://[2002:7f00:1::1]/h", "loopback"],
		["https://[2002:c0a8:1::1]/h", "private"],
		["https://[fc00::1]/h", "private"],
		["https://[fd12:3456:789a::1]/h", "private"],
		["https://[fd00:ec2::254]/h", "metadata"],
		["https://[fe80::1]/h", "link_local"],
		["https://[febf:ffff::1]/h", "link_local"],
		["https://[fec0::1]/h", "private"],
		["https://[ff02::1]/h", "multicast"],
		["https://[ff0e::1]/h", "multicast"],
		["https://[2001:db8::1]/h", "reserved"],
		["https://[2001:0::1]/h", "reserved"],
		["https://[100::1]/h", "reserved"],
		// Names.
		["https://localhost/h", "loopback"],
		["https://LOCALHOST/h", "loopback"],
		["https://localhost./h", "loopback"],
		["https://localhost../h", "loopback"],
		["https://api.localhost/h", "loopback"],
		["https://a.b.localhost./h", "loopback"],
		["https://db.internal/h", "internal_name"],
		["https://svc.cluster.internal./h", "internal_name"],
		["https://printer.local/h", "internal_name"],
		["https://nas.home.arpa/h", "internal_name"],
		["https://intranet/h", "internal_name"],
		["https://metadata/h", "metadata"],
	])("%s is %s", (raw, kind) => {
		expect(viaUrl(raw)).toBe(kind);
		expect(urlProblem(raw, false)).toMatch(/^must be a public host \(/);
	});
});

describe("raw spellings, without the URL parser's folding", () => {
	it.each<[string, HostKind]>([
		["2130706433", "loopback"],
		["0x7f000001", "loopback"],
		["0X7F.1", "loopback"],
		["0177.0.0.1", "loopback"],
		["0177.1", "loopback"],
		["127.1", "loopback"],
		["127.0.1", "loopback"],
		["0x7f.0.0.1.", "loopback"],
		["012.0x0.0.01", "private"],
		["0xa9fea9fe", "metadata"],
		["0", "unspecified"],
		["0x", "unspecified"],
		["4294967296", "invalid"],
		["256.0.0.1", "invalid"],
		["1.2.3.4.5", "invalid"],
		["08.0.0.1", "invalid"],
		["0xg.1", "invalid"],
		["[::ffff:127.0.0.1]", "loopback"],
		["[0:0:0:0:0:ffff:127.0.0.1]", "loopback"],
		["[::1", "invalid"],
		["[1::2::3]", "invalid"],
		["[12345::1]", "invalid"],
		["[::ffff:300.0.0.1]", "invalid"],
		["fe80::1", "invalid"],
		["localhost...", "loopback"],
		["a..b.example", "invalid"],
		["shop.example", "public"],
		["93.184.215.14", "public"],
		["[2606:4700::6810:84e5]", "public"],
	])("%s is %s", (host, kind) => {
		expect(classifyHost(host)).toBe(kind);
	});

	it("parses IPv4 by WHATWG's rules and IPv6 with a dotted tail", () => {
		expect(parseV4("1.2.3")).toBe(0x01020003);
		expect(parseV4("0x100.1")).toBeNull();
		expect(parseV6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
		expect(parseV6("1:2:3:4:5:6:7.8.9.10")).toEqual([1, 2, 3, 4, 5, 6, 0x0708, 0x090a]);
		expect(parseV6("1:2:3:4:5:6:7:8:9")).toBeNull();
		expect(parseV6("1.2.3.4")).toBeNull();
	});
});

describe("hosts let through", () => {
	it.each([
		"https://shop.example/hooks",
		"https://erp.shop.example:8443/hooks",
		"https://93.184.215.14/h",
		"https://8.8.8.8/h",
		"https://100.63.255.255/h",
		"https://100.128.0.1/h",
		"https://172.15.255.255/h",
		"https://172.32.0.1/h",
		"https://192.169.0.1/h",
		"https://198.20.0.1/h",
		"https://[2606:4700::6810:84e5]/h",
		"https://[2a00:1450:4001:80b::200e]/h",
		"https://localhost.shop.example/h",
		"https://internal.shop.example/h",
		"https://127.0.0.1.shop.example/h",
	])("%s", (raw) => {
		expect(viaUrl(raw)).toBe("public");
		expect(urlProblem(raw, false)).toBeNull();
	});
});

describe("WEBHOOK_ALLOW_HTTP_LOCALHOST", () => {
	it.each<[string, boolean, string | null]>([
		["http://localhost:3000/h", true, null],
		["http://127.0.0.1:9000/h", true, null],
		["https://localhost:8443/h", true, "must be a public host (localhost is a loopback address)"],
		["https://127.0.0.1/h", true, "must be a public host (127.0.0.1 is a loopback address)"],
		["https://2130706433/h", true, "must be a public host (127.0.0.1 is a loopback address)"],
		["http://2130706433:9000/h", true, null],
		["http://localhost:3000/h", false, "must be a public host (localhost is a loopback address)"],
		["https://127.0.0.1/h", false, "must be a public host (127.0.0.1 is a loopback address)"],
		["http://[::1]:3000/h", true, "must be a public host ([::1] is a loopback address)"],
		["http://api.localhost/h", true, "must be a public host (api.localhost is a loopback address)"],
		["http://10.0.0.1/h", true, "must be a public host (10.0.0.1 is a private address)"],
		["http://169.254.169.254/h", true, "must be a public host (169.254.169.254 is a cloud metadata service)"],
		["http://metadata.google.internal/h", true, "must be a public host (metadata.google.internal is a cloud metadata service)"],
		["http://shop.example/h", true, "must be https (plain http only to localhost or 127.0.0.1)"],
		["http://shop.example/h", false, "must be https"],
	])("%s (allowed: %s) -> %s", (raw, allow, problem) => {
		expect(urlProblem(raw, allow)).toBe(problem);
	});
});
