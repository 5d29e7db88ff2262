// A bounded pool of concurrent calls, shared by the bench, the load tests and
// the scripts: at most `limit` calls in flight, results in the items' order.

/** Runs `run(item, index)` for every item, at most `limit` at a time; every outcome, settled, in item order. */
export async function settleAll(items, limit, run) {
	const results = new Array(items.length);
	let next = 0;
	async function lane() {
		while (next < items.length) {
			const i = next++;
			try {
				results[i] = { status: "fulfilled", value: await run(items[i], i) };
			} catch (reason) {
				results[i] = { status: "rejected", reason };
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
	return results;
}

/** Like settleAll(), but every call must succeed: the values in item order, or the first failure thrown once all have settled. */
export async function pool(items, limit, run) {
	return allOk(await settleAll(items, limit, run));
}

/** The values of settled results, or the first failure thrown. */
function allOk(results) {
	const failed = results.find((r) => r.status === "rejected");
	if (failed) throw failed.reason;
	return results.map((r) => r.value);
}
