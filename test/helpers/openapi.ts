/** Walks an OpenAPI document: every `$ref` with where it sits, and local JSON-pointer resolution. */

/** Every `$ref` in `node` with the JSON path where it sits. */
export function refsOf(node: unknown, at = "#"): Array<{ at: string; ref: string }> {
	if (Array.isArray(node)) return node.flatMap((v, i) => refsOf(v, `${at}/${i}`));
	if (!node || typeof node !== "object") return [];
	return Object.entries(node).flatMap(([k, v]) =>
		k === "$ref" && typeof v === "string" ? [{ at, ref: v }] : refsOf(v, `${at}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`),
	);
}

/** Resolves a local JSON pointer (`#/a/b`); undefined when any step is missing or the ref is not local. */
export function resolve(doc: unknown, ref: string): unknown {
	if (!ref.startsWith("#/")) return undefined;
	let node: unknown = doc;
	for (const raw of ref.slice(2).split("/")) {
		const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
		if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
		node = (node as Record<string, unknown>)[key];
	}
	return node;
}

/** The refs of `doc` that do not resolve inside it (empty for a self-contained document). */
export function danglingRefs(doc: unknown): Array<{ at: string; ref: string }> {
	return refsOf(doc).filter((r) => resolve(doc, r.ref) === undefined);
}
