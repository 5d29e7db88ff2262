/**
 * Records a storm's history for the checker (test/checker/): every request
 * that changes something, sent through the load client, with its invoke and
 * complete times (this process's clock), its request and its answer (status,
 * body, headers), or no answer at all; then, after the storm, every ledger
 * row of every object through `GET /admin/warehouses/:id/ledger` (paged with
 * `after`), the levels through `.../stock`, the orders through
 * `GET /admin/orders` (paged), the catalog and the warehouses. Reads during
 * the storm are not recorded: they change nothing and no check looks at them.
 */
import { checkHistory, formatViolation, type History } from "../checker/check.ts";
import { DEFAULT_SLACK } from "../checker/timeline.ts";
import type { LedgerRow, ObjectRef, Op, OrderRecord, Product, StockRow } from "../checker/history.ts";
import { ledgerRows } from "../../bench/lib/hot.mjs";
import { Api, type Answer, type CallOptions } from "./client.ts";

/** The token's subject, read without verifying it (the recorder minted it). */
function subjectOf(token: string | undefined): string {
	if (!token) return "anonymous";
	const payload = token.split(".")[1];
	try {
		return String(JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")).sub ?? "unknown");
	} catch {
		return "unknown";
	}
}

class RecordingApi extends Api {
	private readonly recorder: Recorder;

	constructor(base: URL, recorder: Recorder) {
		super(base);
		this.recorder = recorder;
	}

	override async call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
		if (method === "GET") return super.call(method, path, opts);
		const op: Op = {
			id: this.recorder.ops.length + 1,
			user: subjectOf(opts.token),
			method,
			path,
			body: opts.body ?? (opts.raw === undefined ? undefined : safeJson(opts.raw)),
			headers: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
			asked: opts.asked,
			invoke: Date.now(),
			complete: null,
			answer: null,
		};
		this.recorder.ops.push(op);
		const answer = await super.call(method, path, opts);
		op.complete = Date.now();
		op.answer = answer;
		return answer;
	}
}

function safeJson(raw: string): unknown {
	try {
		return JSON.parse(raw);
	} catch {
		return raw;
	}
}

/** The history of one storm: the ops sent through its clients, over one or more Worker instances. */
export class Recorder {
	readonly ops: Op[] = [];

	/** A load client whose every non-GET request is recorded. */
	api(base: URL): Api {
		return new RecordingApi(base, this);
	}
}

/** Every ledger entry of a warehouse, shards included, as the checker's rows (bench/lib/hot.mjs maps them for the stampede too). */
async function ledgerOf(api: Api, admin: string, warehouseId: string): Promise<LedgerRow[]> {
	const out: LedgerRow[] = [];
	let after = 0;
	for (;;) {
		const page = await api.must("GET", `/admin/warehouses/${encodeURIComponent(warehouseId)}/ledger?after=${after}&limit=500`, { token: admin });
		out.push(...ledgerRows(warehouseId, page.entries));
		if (page.next_after === null) return out;
		after = page.next_after;
	}
}

async function ordersOf(api: Api, admin: string): Promise<OrderRecord[]> {
	const out: OrderRecord[] = [];
	let cursor: string | null = null;
	do {
		const page: { orders: OrderRecord[]; next_cursor: string | null } = await api.must("GET", `/admin/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: admin });
		out.push(...page.orders.map((o) => ({ order_id: o.order_id, user_id: o.user_id, status: o.status, products: o.products })));
		cursor = page.next_cursor;
	} while (cursor);
	return out;
}

/** Reads everything the checker needs after the storm, through `api` (not recorded). */
export async function collect(api: Api, admin: string, recorder: Recorder, settled: boolean): Promise<History> {
	const reader = new Api(api.base);
	const { warehouses } = await reader.must("GET", "/admin/warehouses", { token: admin });
	const ledger: LedgerRow[] = [];
	const stock: StockRow[] = [];
	for (const w of warehouses as Array<{ warehouse_id: string }>) {
		const [levels, rows] = await Promise.all([reader.must("GET", `/admin/warehouses/${encodeURIComponent(w.warehouse_id)}/stock`, { token: admin }), ledgerOf(reader, admin, w.warehouse_id)]);
		ledger.push(...rows);
		for (const i of levels.items) {
			stock.push({ object: { warehouse_id: w.warehouse_id }, product_id: i.product_id, size: i.size, on_hand: i.on_hand, reserved: i.reserved, safety_stock: i.safety_stock ?? 0 });
		}
	}
	const { products } = await reader.must("GET", "/products", {});
	const read_at = Date.now();
	return {
		ops: recorder.ops,
		ledger,
		stock,
		orders: await ordersOf(reader, admin),
		products: (products as Product[]).map((p) => ({ product_id: p.product_id, max_per_customer: p.max_per_customer ?? null, components: p.components ?? null })),
		warehouses: (warehouses as Array<{ warehouse_id: string; active: boolean }>).map((w) => ({ warehouse_id: w.warehouse_id, active: w.active })),
		settled,
		read_at,
	};
}

export interface HistoryCheck {
	/** One line per violation. */
	violations: string[];
	figures: { ops: number; unanswered: number; ledger_rows: number; objects: number; orders: number; refusals_409: number; violations: number; false_409_probe: "caught" | "missed" | "no refusal" | "no window" };
}

/**
 * A self-test on the storm's real data: the storm's first refusal, copied and
 * moved to an instant when the stock was surely loaded and surely untouched by
 * any sale, must be called a false 409. A row stamped `at` happened within
 * [at - skew, at + lag] (DEFAULT_SLACK), so that instant lies after every
 * loading row's latest time and before every sale row's earliest; rows
 * stamped before the first checkout was sent are the loading (no row of the
 * storm is stamped before its request was sent). Answers whether it was
 * caught, "no window" when the storm sold too soon after loading for such an
 * instant to exist, or null when the storm has no refusal. It catches a check
 * made blind by the real history (times misread, objects mislabelled) that
 * hand-written histories would not.
 */
function probeFalseRefusal(h: History): boolean | "no window" | null {
	const checkouts = h.ops.filter((op) => op.method === "POST" && op.path === "/cart/place-order");
	const refusal = checkouts.find((op) => op.answer?.status === 409 && op.answer.body?.code === "OUT_OF_STOCK" && op.asked);
	if (!refusal || checkouts.length === 0) return null;
	const first = Math.min(...checkouts.map((op) => op.invoke));
	const loading = h.ledger.filter((r) => r.at < first - DEFAULT_SLACK.skewMs);
	const selling = h.ledger.filter((r) => r.at >= first - DEFAULT_SLACK.skewMs);
	const from = Math.max(first - 3, ...loading.map((r) => r.at + DEFAULT_SLACK.lagMs + 1));
	const until = Math.min(Infinity, ...selling.map((r) => r.at - DEFAULT_SLACK.skewMs - 1));
	if (from + 1 >= until) return "no window";
	const moved = { ...refusal, id: h.ops.length + 1, invoke: from, complete: from + 1 };
	return checkHistory({ ...h, ops: [...h.ops, moved] }).some((v) => v.check === "false-409" && v.subject.startsWith(`op ${moved.id} `));
}

/** Collects the history and runs every check on it (and the self-test above). */
export async function checkStorm(api: Api, admin: string, recorder: Recorder, opts: { settled?: boolean } = {}): Promise<HistoryCheck> {
	const h = await collect(api, admin, recorder, opts.settled ?? true);
	const violations = checkHistory(h).map(formatViolation);
	const probe = probeFalseRefusal(h);
	if (probe === false) violations.push("[checker] a refusal moved to an instant with every unit loaded and still free was not called a false 409");
	return {
		violations,
		figures: {
			ops: h.ops.length,
			unanswered: h.ops.filter((o) => o.answer === null).length,
			ledger_rows: h.ledger.length,
			objects: new Set(h.ledger.map((r) => `${r.object.warehouse_id}#${r.object.shard ?? ""}`)).size,
			orders: h.orders.length,
			refusals_409: h.ops.filter((o) => o.answer?.status === 409 && o.answer.body?.code === "OUT_OF_STOCK" && o.answer.headers["idempotent-replayed"] !== "true").length,
			violations: violations.length,
			false_409_probe: probe === null ? "no refusal" : probe === "no window" ? "no window" : probe ? "caught" : "missed",
		},
	};
}
