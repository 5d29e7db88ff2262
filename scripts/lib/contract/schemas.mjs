// Bodies from the document's own JSON schemas: valid ones by json-schema-faker,
// and deliberately invalid ones by one mutation of a valid body (an unknown
// field, a missing required one, a wrong type, a bound crossed, not an object).
import { generateSync } from "json-schema-faker";

export function deref(doc, schema) {
	let s = schema;
	for (let i = 0; s && typeof s.$ref === "string" && i < 10; i++) {
		s = s.$ref
			.replace(/^#\//, "")
			.split("/")
			.reduce((node, key) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
	}
	return s ?? {};
}

/** The first branch of a nullable `anyOf` that is not `null`. */
function concrete(doc, schema) {
	const s = deref(doc, schema);
	if (Array.isArray(s.anyOf)) return deref(doc, s.anyOf.find((b) => deref(doc, b).type !== "null") ?? s.anyOf[0]);
	return s;
}

/** A value `schema` accepts, reproducible from `seed`. */
export function validValue(doc, schema, seed) {
	return generateSync({ ...schema, components: doc.components }, { seed, optionalsProbability: 0.5, maxItems: 3 });
}

function wrongType(s) {
	return s.type === "object" ? 42 : { fuzz: true };
}

/** Values that break one keyword of `s` (each alone makes the value invalid). */
function boundBreakers(s, current) {
	const out = [];
	if (typeof s.maximum === "number") out.push(["maximum", s.type === "integer" ? s.maximum + 1 : s.maximum * 2 + 1]);
	if (typeof s.minimum === "number") out.push(["minimum", s.minimum - 1]);
	if (typeof s.maxLength === "number") out.push(["maxLength", "x".repeat(s.maxLength + 1)]);
	if (typeof s.minLength === "number" && s.minLength > 0) out.push(["minLength", ""]);
	if (typeof s.pattern === "string") out.push(["pattern", "\u0000 not it"]);
	if (Array.isArray(s.enum)) out.push(["enum", "fuzz-not-listed"]);
	if (s.not && "const" in s.not) out.push(["not", s.not.const]);
	if (s.uniqueItems && Array.isArray(current) && current.length > 0) out.push(["uniqueItems", [current[0], current[0]]]);
	if (typeof s.minItems === "number" && s.minItems > 0) out.push(["minItems", []]);
	if (typeof s.maxItems === "number" && Array.isArray(current) && current.length > 0) out.push(["maxItems", Array.from({ length: s.maxItems + 1 }, (_, i) => current[i % current.length])]);
	return out;
}

export const MUTATIONS = ["unknown-field", "unknown-nested-field", "missing-required", "wrong-type", "bound", "not-an-object"];

/**
 * `body` (valid for `schema`) changed by `kind`, `pick` choosing among the
 * places it applies to; null when it applies nowhere in this body.
 */
export function mutate(doc, schema, body, kind, pick) {
	const root = concrete(doc, schema);
	const props = root.properties ?? {};
	const present = Object.keys(props).filter((k) => body && typeof body === "object" && k in body);
	const choose = (list) => (list.length ? list[pick % list.length] : undefined);
	const copy = structuredClone(body);
	switch (kind) {
		// Tried on open objects too: if the document allows the field, the Worker must accept it.
		case "unknown-field":
			if (!copy || typeof copy !== "object" || Array.isArray(copy)) return null;
			return { body: { ...copy, fuzz_unknown: 1 }, what: "unknown field fuzz_unknown" };
		case "unknown-nested-field": {
			const arrays = present.filter((k) => {
				const p = concrete(doc, props[k]);
				return p.type === "array" && concrete(doc, p.items).type === "object" && Array.isArray(copy[k]) && copy[k].length > 0;
			});
			const k = choose(arrays);
			if (!k) return null;
			copy[k][0] = { ...copy[k][0], fuzz_unknown: 1 };
			return { body: copy, what: `unknown field ${k}.0.fuzz_unknown` };
		}
		case "missing-required": {
			const k = choose(root.required ?? []);
			if (!k) return null;
			delete copy[k];
			return { body: copy, what: `required ${k} left out` };
		}
		case "wrong-type": {
			const k = choose(present);
			if (!k) return null;
			copy[k] = wrongType(concrete(doc, props[k]));
			return { body: copy, what: `${k} of the wrong type` };
		}
		case "bound": {
			const breakers = Object.keys(props).flatMap((k) => boundBreakers(concrete(doc, props[k]), copy?.[k]).map(([kw, v]) => [k, kw, v]));
			const b = choose(breakers);
			if (!b) return null;
			copy[b[0]] = b[2];
			return { body: copy, what: `${b[0]} breaks ${b[1]}` };
		}
		case "not-an-object": {
			const values = [[], "text", 7, null, [copy]];
			return { body: values[pick % values.length], what: "body not an object" };
		}
		default:
			throw new Error(`unknown mutation ${kind}`);
	}
}
