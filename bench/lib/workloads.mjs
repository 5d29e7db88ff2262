// The benchmark's workloads, as data (bench/scenarios/ holds the runners that
// measure them): warehouses, products, stock and buyers (each buyer one user
// with one cart) per scenario, generated from a fixed seed so every system
// and every run sees exactly the same load. Ids carry the scenario's prefix, so
// scenarios run one after another on the same Worker without touching each other.

export const REGIONS = [
	{ region: "NY", postal_code: "10001", city: "New York" },
	{ region: "IL", postal_code: "60601", city: "Chicago" },
	{ region: "CA", postal_code: "94103", city: "San Francisco" },
	{ region: "TX", postal_code: "73301", city: "Austin" },
];

/** Full-run sizes, and the reduced ones for `--quick` (CI smoke, under a minute). */
export const SIZES = {
	full: {
		lastUnits: { stock: 100, buyers: 1000, concurrency: 100 },
		flashSale: { perWarehouse: 250, warehouses: 4, buyers: 2000, concurrency: 200 },
		catalog: { orders: 2000, products: 50, sizes: 4, warehouses: 4, concurrency: 50, stock: 100_000, rounds: 4 },
		fanOut: { ordersPerSplit: 200, pool: 25, concurrency: 10 },
		floor: { requests: 300, loop: 200, warmup: 30 },
		reads: { views: 6000, orders: 300, products: 50, sizes: 4, warehouses: 4, concurrency: 50 },
		stampede: { buyers: 2000, stock: 500, warehouses: 2, hoarders: 0.1, limit: 2, views: 20_000, concurrency: 200, viewConcurrency: 50, windowSeconds: 5, shards: 8 },
		loadTimeLimitMs: 300_000,
	},
	quick: {
		lastUnits: { stock: 10, buyers: 60, concurrency: 20 },
		flashSale: { perWarehouse: 5, warehouses: 4, buyers: 60, concurrency: 30 },
		catalog: { orders: 40, products: 50, sizes: 4, warehouses: 4, concurrency: 10, stock: 100_000, rounds: 1 },
		fanOut: { ordersPerSplit: 6, pool: 3, concurrency: 3 },
		floor: { requests: 20, loop: 20, warmup: 10 },
		reads: { views: 400, orders: 20, products: 10, sizes: 2, warehouses: 4, concurrency: 20 },
		// --quick runs the quiet pass and the sharded one (CI's check of a sharded unit), not the browsing pass.
		stampede: { buyers: 80, stock: 20, warehouses: 2, hoarders: 0.1, limit: 2, views: 400, concurrency: 20, viewConcurrency: 10, windowSeconds: 3, shards: 8 },
		loadTimeLimitMs: 10_000,
	},
};

/** A small deterministic PRNG (xorshift32): same seed, same orders, every run. */
export function rng(seed) {
	let x = seed >>> 0 || 0x9e3779b9;
	return () => {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		return x / 2 ** 32;
	};
}

function warehouse(id, regionIndex) {
	const r = REGIONS[regionIndex % REGIONS.length];
	return { id, name: `Bench ${id}`, postal_code: r.postal_code, region: r.region, country: "US" };
}

function address(regionIndex, n) {
	const r = REGIONS[regionIndex % REGIONS.length];
	return { name: `Bench Buyer ${n}`, line1: `${100 + n} Main St`, city: r.city, region: r.region, postal_code: r.postal_code, country: "US" };
}

function pad(n) {
	return String(n).padStart(5, "0");
}

export function lastUnits(s) {
	const wh = warehouse("lu-wh-ny", 0);
	const product = { id: "lu-tee", name: "Last Units Tee", price: 25, sizes: ["M"] };
	return {
		name: "last-units",
		prefix: "lu-",
		description: `1 unit, ${s.stock} in stock in 1 warehouse, ${s.buyers} buyers of 1 unit each at concurrency ${s.concurrency}`,
		concurrency: s.concurrency,
		warehouses: [wh],
		products: [product],
		stock: { [wh.id]: [{ product_id: product.id, size: "M", on_hand: s.stock }] },
		buyers: Array.from({ length: s.buyers }, (_, i) => ({ sub: `lu-u${pad(i)}`, address: address(0, i), lines: [{ product_id: product.id, size: "M", quantity: 1 }] })),
	};
}

export function flashSale(s) {
	const whs = Array.from({ length: s.warehouses }, (_, i) => warehouse(`fs-wh-${REGIONS[i % REGIONS.length].region.toLowerCase()}`, i));
	const product = { id: "fs-sneaker", name: "Flash Sale Sneaker", price: 120, sizes: ["42"] };
	return {
		name: "flash-sale",
		prefix: "fs-",
		description: `1 unit, ${s.perWarehouse * s.warehouses} in stock over ${s.warehouses} warehouses, ${s.buyers} buyers (addresses spread over the warehouses' regions) at concurrency ${s.concurrency}`,
		concurrency: s.concurrency,
		warehouses: whs,
		products: [product],
		stock: Object.fromEntries(whs.map((w) => [w.id, [{ product_id: product.id, size: "42", on_hand: s.perWarehouse }]])),
		buyers: Array.from({ length: s.buyers }, (_, i) => ({ sub: `fs-u${pad(i)}`, address: address(i, i), lines: [{ product_id: product.id, size: "42", quantity: 1 }] })),
	};
}

export function catalog(s) {
	const sizes = ["S", "M", "L", "XL", "XXL", "3XL"].slice(0, s.sizes);
	const whs = Array.from({ length: s.warehouses }, (_, i) => warehouse(`ca-wh-${REGIONS[i % REGIONS.length].region.toLowerCase()}`, i));
	const products = Array.from({ length: s.products }, (_, i) => ({ id: `ca-p${String(i).padStart(3, "0")}`, name: `Catalog item ${i}`, price: 10 + (i % 40), sizes }));
	const units = products.flatMap((p) => sizes.map((size) => ({ product_id: p.id, size })));
	const random = rng(20261124);
	const buyers = Array.from({ length: s.orders }, (_, i) => {
		const count = 1 + Math.floor(random() * 3);
		const picked = new Map();
		while (picked.size < count) {
			const u = units[Math.floor(random() * units.length)];
			picked.set(`${u.product_id}/${u.size}`, { ...u, quantity: 1 + Math.floor(random() * 2) });
		}
		return { sub: `ca-u${pad(i)}`, address: address(i, i), lines: [...picked.values()] };
	});
	return {
		name: "catalog",
		prefix: "ca-",
		description: `${s.orders} orders of 1 to 3 lines (1-2 units each) over ${units.length} units (${s.products} products x ${s.sizes} sizes) and ${s.warehouses} warehouses, ${s.stock} of every unit everywhere, concurrency ${s.concurrency}${s.rounds > 1 ? `, in ${s.rounds} rounds of ${s.orders / s.rounds} orders that alternate between the systems` : ""}`,
		concurrency: s.concurrency,
		// Throughput is compared between systems: interleaved rounds spread a shared machine's slow drifts over all of them.
		rounds: s.rounds,
		warehouses: whs,
		products,
		stock: Object.fromEntries(whs.map((w) => [w.id, units.map((u) => ({ ...u, on_hand: s.stock }))])),
		buyers,
	};
}

/**
 * Every order has 4 lines of 1 unit; what changes is how many warehouses must
 * ship them. Each line slot draws from its own pool of products, all stocked in
 * exactly one warehouse, so the split is forced (1: all four slots at one
 * warehouse; 2: two and two; 4: one each) while orders rarely want the same
 * product at the same moment (the pools keep contention low in both systems).
 */
export function fanOut(s) {
	const whs = [0, 1, 2, 3].map((i) => warehouse(`fo-wh-${i + 1}`, i));
	const layout = { 1: [0, 0, 0, 0], 2: [0, 0, 1, 1], 4: [0, 1, 2, 3] };
	const products = [];
	const stock = Object.fromEntries(whs.map((w) => [w.id, []]));
	const pools = {};
	for (const [split, places] of Object.entries(layout)) {
		pools[split] = places.map((wi, slot) =>
			Array.from({ length: s.pool }, (_, k) => {
				const id = `fo-s${split}-${"abcd"[slot]}${String(k).padStart(2, "0")}`;
				products.push({ id, name: `Fan-out ${split}/${slot}/${k}`, price: 15, sizes: ["M"] });
				stock[whs[wi].id].push({ product_id: id, size: "M", on_hand: 1_000_000 });
				return id;
			}),
		);
	}
	const random = rng(4242);
	const buyers = [];
	for (const split of [1, 2, 4]) {
		for (let i = 0; i < s.ordersPerSplit; i++) {
			buyers.push({
				sub: `fo-s${split}-u${pad(i)}`,
				group: split,
				address: address(0, i),
				lines: pools[split].map((pool) => ({ product_id: pool[Math.floor(random() * pool.length)], size: "M", quantity: 1 })),
			});
		}
	}
	return {
		name: "fan-out",
		prefix: "fo-",
		description: `orders of 4 lines that must ship from 1, 2 or 4 warehouses (${s.ordersPerSplit} orders per split size, each line drawn from a pool of ${s.pool} products, concurrency ${s.concurrency}, stock plentiful)`,
		concurrency: s.concurrency,
		groups: [1, 2, 4],
		warehouses: whs,
		products,
		stock,
		buyers,
	};
}

/** The floor's stock and buyers: one warehouse, one plentiful unit, place-order one at a time. */
export function floor(s) {
	const wh = warehouse("fl-wh-ny", 0);
	const product = { id: "fl-tee", name: "Floor Tee", price: 20, sizes: ["M"] };
	return {
		name: "floor",
		prefix: "fl-",
		description: `sequential requests (concurrency 1), ${s.requests} each after ${s.warmup} warm-up requests`,
		concurrency: 1,
		warehouses: [wh],
		products: [product],
		stock: { [wh.id]: [{ product_id: product.id, size: "M", on_hand: 1_000_000 }] },
		buyers: Array.from({ length: s.requests + s.warmup }, (_, i) => ({ sub: `fl-u${pad(i)}`, address: address(0, i), lines: [{ product_id: product.id, size: "M", quantity: 1 }] })),
	};
}

/**
 * Product pages under load, with checkouts among them (one order per
 * views/orders page views): how many Warehouse RPCs a page view costs when
 * availability is read through the cache. stockgate only.
 */
export function reads(s) {
	const sizes = ["S", "M", "L", "XL"].slice(0, s.sizes);
	const whs = Array.from({ length: s.warehouses }, (_, i) => warehouse(`rd-wh-${REGIONS[i % REGIONS.length].region.toLowerCase()}`, i));
	const products = Array.from({ length: s.products }, (_, i) => ({ id: `rd-p${String(i).padStart(3, "0")}`, name: `Read item ${i}`, price: 20, sizes }));
	const random = rng(20261130);
	const pick = (list) => list[Math.floor(random() * list.length)];
	return {
		name: "reads",
		prefix: "rd-",
		description: `${s.views} GET /products/:id page views over ${s.products} products and ${s.warehouses} warehouses, with ${s.orders} place-orders spread among them, concurrency ${s.concurrency} (stockgate only)`,
		concurrency: s.concurrency,
		warehouses: whs,
		products,
		stock: Object.fromEntries(whs.map((w) => [w.id, products.flatMap((p) => sizes.map((size) => ({ product_id: p.id, size, on_hand: 100_000 })))])),
		buyers: Array.from({ length: s.orders }, (_, i) => ({ sub: `rd-u${pad(i)}`, address: address(i, i), lines: [{ product_id: pick(products).id, size: pick(sizes), quantity: 1 }] })),
		views: Array.from({ length: s.views }, () => pick(products).id),
	};
}

/**
 * A flash sale with hoarders and browsers: many buyers of one hot unit, a tenth
 * of them hoarders who order the most one customer may (stockgate's
 * max_per_customer; the same quantity on the baseline, which has no limit) and
 * never pay, while product pages of the same item are read. `pass` names a
 * fresh copy of the data (its own ids), so the same buyers can run once without
 * the page views, once with them, and once with the unit split over `shards`
 * objects at each warehouse. Hoarders are a fixed, seeded tenth.
 */
export function stampede(s, pass, shards = 1) {
	const prefix = `st${pass}-`;
	const whs = Array.from({ length: s.warehouses }, (_, i) => warehouse(`${prefix}wh-${REGIONS[(i * 2) % REGIONS.length].region.toLowerCase()}`, i * 2));
	const product = { id: `${prefix}drop`, name: "Stampede Drop", price: 90, sizes: ["M"], max_per_customer: s.limit };
	const per = Math.floor(s.stock / s.warehouses);
	const random = rng(20261130 + 10);
	const order = Array.from({ length: s.buyers }, (_, i) => ({ i, r: random() })).sort((a, b) => a.r - b.r);
	const hoarders = new Set(order.slice(0, Math.round(s.buyers * s.hoarders)).map((x) => x.i));
	return {
		name: "stampede",
		prefix,
		pass,
		description: `1 unit, ${per * s.warehouses} in stock over ${s.warehouses} warehouses, ${s.buyers} buyers at concurrency ${s.concurrency}, ${hoarders.size} of them hoarders (${s.limit} units each, never pay), ${s.views} product page views at concurrency ${s.viewConcurrency} during the buying (one run without them, one without them over ${s.shards} shard objects per warehouse), payment window ${s.windowSeconds} s`,
		shards,
		concurrency: s.concurrency,
		viewConcurrency: s.viewConcurrency,
		windowSeconds: s.windowSeconds,
		limit: s.limit,
		warehouses: whs,
		products: [product],
		stock: Object.fromEntries(whs.map((w) => [w.id, [{ product_id: product.id, size: "M", on_hand: per, ...(shards > 1 ? { shards } : {}) }]])),
		buyers: Array.from({ length: s.buyers }, (_, i) => {
			const hoarder = hoarders.has(i);
			// Addresses alternate between the warehouses' regions, so each warehouse is the nearest for half the buyers.
			return { sub: `${prefix}u${pad(i)}`, hoarder, address: address((i % s.warehouses) * 2, i), lines: [{ product_id: product.id, size: "M", quantity: hoarder ? s.limit : 1 }] };
		}),
		views: s.views,
	};
}
