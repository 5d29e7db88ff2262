/**
 * Kits (bundles): a product made of components, each `{ product_id, size,
 * quantity }`, with exactly one size of its own and no stock of its own. Pure:
 * - `physicalDemand` turns order or cart lines into the units a warehouse holds,
 *   adding kit components and plain lines that share a unit BEFORE any check
 *   (two lines drawing on one unit are checked together, never each alone);
 * - `kitAvailable` is a kit's availability from its components' levels;
 * - `attribute` splits per-unit allocations back onto the lines that asked for them;
 * - `sellable`: a kit sells only while every component does;
 * - `strandedStock`: the stock that keeps a plain product from becoming a kit.
 */
import { sumDemand } from "../stock/demand";
import { unitKey, type Line, type StockRow, type Unit } from "../stock/types";

export interface Component extends Unit {
	quantity: number;
}

/** What kits.ts needs of a product. */
export interface KitInfo {
	product_id: string;
	components: Component[] | null;
}

export function isKit(p: KitInfo | undefined): boolean {
	return !!p?.components && p.components.length > 0;
}

/** The kit facts of the products behind some lines (a priced cart line carries its product's components). */
export function kitInfo(lines: ReadonlyArray<{ product_id: string; components?: Component[] | null }>): Map<string, KitInfo> {
	return new Map(lines.map((l) => [l.product_id, { product_id: l.product_id, components: l.components ?? null }]));
}

/** The physical units behind `lines`, summed per unit: kit lines become their components times the quantity. */
export function physicalDemand(lines: readonly Line[], products: ReadonlyMap<string, KitInfo>): Line[] {
	const expanded: Line[] = [];
	for (const l of lines) {
		const p = products.get(l.product_id);
		if (p && isKit(p)) {
			for (const c of p.components!) expanded.push({ product_id: c.product_id, size: c.size, quantity: c.quantity * l.quantity });
		} else {
			expanded.push({ product_id: l.product_id, size: l.size, quantity: l.quantity });
		}
	}
	return sumDemand(expanded);
}

/** How many whole kits the available units make: the minimum over components of floor(available / quantity). */
export function kitAvailable(components: readonly Component[], available: (u: Unit) => number): number {
	let least = Number.POSITIVE_INFINITY;
	for (const c of components) least = Math.min(least, Math.floor(Math.max(0, available(c)) / c.quantity));
	return Number.isFinite(least) ? least : 0;
}

export interface UnitAllocation extends Unit {
	warehouse_id: string;
	quantity: number;
}

export interface AttributedLine extends Line {
	allocations: Array<{ warehouse_id: string; quantity: number }>;
	/** Kit lines: each component's units and where they come from. */
	components?: Array<Component & { allocations: Array<{ warehouse_id: string; quantity: number }> }>;
}

/**
 * Gives each line its share of the per-unit allocations, in line order (plain
 * lines and kit components alike draw from the same pool per unit). A kit
 * line's own `allocations` count whole kits per warehouse: the kits whose every
 * component comes from that warehouse.
 */
export function attribute(lines: readonly Line[], products: ReadonlyMap<string, KitInfo>, allocations: readonly UnitAllocation[]): AttributedLine[] {
	const pool = new Map<string, Array<{ warehouse_id: string; left: number }>>();
	for (const a of allocations) {
		const list = pool.get(unitKey(a)) ?? [];
		list.push({ warehouse_id: a.warehouse_id, left: a.quantity });
		pool.set(unitKey(a), list);
	}
	const take = (u: Unit, quantity: number) => {
		const out: Array<{ warehouse_id: string; quantity: number }> = [];
		let need = quantity;
		for (const slot of pool.get(unitKey(u)) ?? []) {
			if (need === 0) break;
			const n = Math.min(need, slot.left);
			if (n === 0) continue;
			slot.left -= n;
			need -= n;
			const seen = out.find((o) => o.warehouse_id === slot.warehouse_id);
			if (seen) seen.quantity += n;
			else out.push({ warehouse_id: slot.warehouse_id, quantity: n });
		}
		return out;
	};
	return lines.map((l) => {
		const p = products.get(l.product_id);
		if (!p || !isKit(p)) return { ...l, allocations: take(l, l.quantity) };
		const components = p.components!.map((c) => ({ ...c, quantity: c.quantity * l.quantity, allocations: take(c, c.quantity * l.quantity) }));
		const warehouses = [...new Set(components.flatMap((c) => c.allocations.map((a) => a.warehouse_id)))];
		const whole = warehouses
			.map((w) => ({
				warehouse_id: w,
				quantity: Math.min(...components.map((c, i) => Math.floor((c.allocations.find((a) => a.warehouse_id === w)?.quantity ?? 0) / p.components![i]!.quantity))),
			}))
			.filter((a) => a.quantity > 0);
		return { ...l, allocations: whole, components };
	});
}

/**
 * Whether a product can be sold: it is active and, for a kit, so is every
 * component (a kit must not sell units of a product taken off sale).
 */
export function sellable(p: { active: boolean; components: ReadonlyArray<{ product_id: string }> | null }, isActive: (productId: string) => boolean): boolean {
	return p.active && (p.components ?? []).every((c) => isActive(c.product_id));
}

/** Units of one product at one warehouse, summed over its sizes. */
export interface StrandedStock {
	warehouse_id: string;
	on_hand: number;
	reserved: number;
	incoming: number;
}

/**
 * The warehouses holding units of `productId` (on hand, reserved by open holds,
 * or on their way in a transfer), in warehouse order: a product with any cannot
 * become a kit, whose stock is only its components' (its own would be stranded).
 */
export function strandedStock(productId: string, perWarehouse: ReadonlyMap<string, ReadonlyArray<Pick<StockRow, "product_id" | "on_hand" | "reserved" | "incoming">>>): StrandedStock[] {
	return [...perWarehouse]
		.map(([warehouse_id, rows]) => {
			const mine = rows.filter((r) => r.product_id === productId);
			return {
				warehouse_id,
				on_hand: mine.reduce((n, r) => n + r.on_hand, 0),
				reserved: mine.reduce((n, r) => n + r.reserved, 0),
				incoming: mine.reduce((n, r) => n + r.incoming, 0),
			};
		})
		.filter((s) => s.on_hand > 0 || s.reserved > 0 || s.incoming > 0)
		.sort((a, b) => (a.warehouse_id < b.warehouse_id ? -1 : a.warehouse_id > b.warehouse_id ? 1 : 0));
}
