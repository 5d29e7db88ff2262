import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_V1, parseHeader, signPayload, TOLERANCE_S, verifySignature } from "../../src/payments/signature";

const SECRET = "test-webhook-secret";
const BODY = '{"id":"evt_1","type":"payment.succeeded","order_id":"ord_1","amount":25.98,"currency":"USD"}';
const T = 1_700_000_000;
// HMAC-SHA256 of `${T}.${BODY}` with SECRET, computed outside the code under test (openssl dgst -sha256 -hmac).
const KNOWN_HEX = "879997a5d9496b8a4cc3a0ee779231f9e861076f0cb736e25225dee32ae34bd4";

describe("webhook signatures", () => {
	it("signPayload matches an independently computed HMAC-SHA256 of `t.body`", async () => {
		expect(await signPayload(BODY, SECRET, T)).toBe(`t=${T},v1=${KNOWN_HEX}`);
	});

	it("accepts its own signature, and a known-good header", async () => {
		expect(await verifySignature(await signPayload(BODY, SECRET, T), BODY, SECRET, T)).toEqual({ ok: true });
		expect(await verifySignature(`t=${T},v1=${KNOWN_HEX}`, BODY, SECRET, T + 10)).toEqual({ ok: true });
	});

	it("accepts upper-case hex and spaces after commas", async () => {
		expect(await verifySignature(`t=${T}, v1=${KNOWN_HEX.toUpperCase()}`, BODY, SECRET, T)).toEqual({ ok: true });
	});

	it("accepts a header with several v1 values when one matches (secret rotation)", async () => {
		const other = await signPayload(BODY, "old-secret", T);
		const otherHex = other.split("v1=")[1]!;
		expect(await verifySignature(`t=${T},v1=${otherHex},v1=${KNOWN_HEX}`, BODY, SECRET, T)).toEqual({ ok: true });
		expect(await verifySignature(`t=${T},v1=${otherHex}`, BODY, SECRET, T)).toEqual({ ok: false, why: "mismatch" });
	});

	it("rejects another secret, a changed body and a changed timestamp", async () => {
		expect(await verifySignature(await signPayload(BODY, "wrong-secret", T), BODY, SECRET, T)).toEqual({ ok: false, why: "mismatch" });
		expect(await verifySignature(`t=${T},v1=${KNOWN_HEX}`, BODY.replace("25.98", "0.01"), SECRET, T)).toEqual({ ok: false, why: "mismatch" });
		expect(await verifySignature(`t=${T + 1},v1=${KNOWN_HEX}`, BODY, SECRET, T)).toEqual({ ok: false, why: "mismatch" });
	});

	it("rejects v1 values that are not 32 bytes of hex", async () => {
		for (const v1 of ["zz", KNOWN_HEX.slice(0, 62), `${KNOWN_HEX}00`, `${KNOWN_HEX.slice(0, 63)}g`, "0"]) {
			expect(await verifySignature(`t=${T},v1=${v1}`, BODY, SECRET, T), v1).toEqual({ ok: false, why: "mismatch" });
		}
	});

	it("tolerates exactly TOLERANCE_S (300 s) of skew either way, and no more", async () => {
		expect(TOLERANCE_S).toBe(300);
		const header = await signPayload(BODY, SECRET, T);
		expect(await verifySignature(header, BODY, SECRET, T + 300)).toEqual({ ok: true });
		expect(await verifySignature(header, BODY, SECRET, T - 300)).toEqual({ ok: true });
		expect(await verifySignature(header, BODY, SECRET, T + 301)).toEqual({ ok: false, why: "stale" });
		expect(await verifySignature(header, BODY, SECRET, T - 301)).toEqual({ ok: false, why: "stale" });
	});

	it("reports a missing header", async () => {
		expect(await verifySignature(null, BODY, SECRET, T)).toEqual({ ok: false, why: "missing" });
		expect(await verifySignature("", BODY, SECRET, T)).toEqual({ ok: false, why: "missing" });
	});

	it("reports malformed headers", async () => {
		for (const h of ["garbage", `v1=${KNOWN_HEX}`, `t=${T}`, `t=abc,v1=${KNOWN_HEX}`, `t=-5,v1=${KNOWN_HEX}`, `t=${T},v1=`, `t=1234567890123,v1=${KNOWN_HEX}`]) {
			expect(await verifySignature(h, BODY, SECRET, T), h).toEqual({ ok: false, why: "malformed" });
		}
	});

	it("parseHeader reads t and the v1 values, ignoring unknown keys", () => {
		expect(parseHeader(`t=${T},v0=abc,v1=aa,v1=bb`)).toEqual({ t: T, v1: ["aa", "bb"] });
		expect(parseHeader("v1=aa")).toBeNull();
	});

	describe("at most 3 v1 candidates, one HMAC", () => {
		afterEach(() => vi.restoreAllMocks());
		const wrong = (i: number) => i.toString(16).padStart(64, "0");

		it("MAX_V1 is 3 and parseHeader keeps only the first 3 v1 values", () => {
			expect(MAX_V1).toBe(3);
			expect(parseHeader(`t=${T},v1=aa,v1=bb,v1=cc,v1=dd,v1=ee`)).toEqual({ t: T, v1: ["aa", "bb", "cc"] });
		});

		it("a right signature among the first 3 is accepted; in 4th place or later it is not considered", async () => {
			expect(await verifySignature(`t=${T},v1=${wrong(1)},v1=${wrong(2)},v1=${KNOWN_HEX}`, BODY, SECRET, T)).toEqual({ ok: true });
			expect(await verifySignature(`t=${T},v1=${wrong(1)},v1=${wrong(2)},v1=${wrong(3)},v1=${KNOWN_HEX}`, BODY, SECRET, T)).toEqual({ ok: false, why: "mismatch" });
		});

		it("the HMAC over the body is computed once, however many candidates the header carries", async () => {
			const sign = vi.spyOn(crypto.subtle, "sign");
			const verify = vi.spyOn(crypto.subtle, "verify");
			const bigBody = JSON.stringify({ pad: "x".repeat(60 * 1024) });
			const header = `t=${T},${Array.from({ length: 200 }, (_, i) => `v1=${wrong(i + 1)}`).join(",")}`;
			expect(await verifySignature(header, bigBody, SECRET, T)).toEqual({ ok: false, why: "mismatch" });
			expect(sign.mock.calls.length + verify.mock.calls.length).toBe(1);
		});
	});
});
