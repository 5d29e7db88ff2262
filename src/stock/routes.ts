/**
 * Admin stock endpoints (levels, adjustments, ledger) and
 * `/api/stock/deduct` and `/api/stock/restore` (sales and returns through
 * another channel), admin-only and idempotent by `reference`. Every write goes to the warehouse's Durable Object.
 */
import type { Env } from "../env";
import { getWarehouse } from "../catalog/queries";
import { WarehouseParams } from "../catalog/schema";
import { rejectKits, requireUnits } from "../catalog/units";
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { log } from "../shared/log";
import { reply, route } from "../http/route";
import { warehouseStub } from "./client";
import { ledgerWithShards, stockRowsWithShards } from "./shardedView";
import { unitKey, type Unit } from "./types";
import { AdjustBody, Level, LedgerPage, LedgerQuery, MoveStockBody, MovedLevel, SetStockBody, WarehouseStock } from "./schema";

async function requireWarehouse(env: Env, warehouseId: string) {
	const warehouse = await getWarehouse(env.DB, warehouseId);
	if (!warehouse) fail("NOT_FOUND", `Warehouse ${warehouseId} not found.`);
	return warehouse;
}

/** The warehouse's levels with each unit's safety stock, incoming units and low-stock threshold, and its open holds. */
async function stockView(env: Env, warehouseId: string) {
	const view = await stockRowsWithShards(env, warehouseId);
	return {
		warehouse_id: warehouseId,
		items: view.items,
		holds: { held: view.holds.held, next_expiry: view.holds.next_expiry === null ? null : new Date(view.holds.next_expiry).toISOString() },
	};
}

function newReference(prefix: string): string {
	return `${prefix}:${crypto.randomUUID()}`;
}

const moveRoute = (kind: "deduct" | "restore") =>
	route({
		method: "post",
		path: `/api/stock/${kind}`,
		tag: "stock",
		summary: kind === "deduct" ? "Deduct units from a warehouse (idempotent by reference)" : "Restore units to a warehouse (idempotent by reference)",
		access: "admin",
		body: MoveStockBody,
		responses: { 200: { description: "The unit's levels after the change", schema: MovedLevel } },
		errors: kind === "deduct" ? ["INSUFFICIENT_STOCK", "NOT_FOUND", "VALIDATION_ERROR"] : ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, body, user }) => {
			await requireWarehouse(env, body.warehouse_id);
			rejectKits(await requireUnits(env.DB, [body]), [body]);
			const ref = body.reference ?? newReference(kind);
			const line = { product_id: body.product_id, size: body.size, quantity: body.quantity };
			const stub = warehouseStub(env, body.warehouse_id);
			const tag = kind === "deduct" ? "[stock-deduct]" : "[stock-restore]";
			const result = kind === "deduct" ? await stub.deduct(ref, [line], { actor: user.id }) : await stub.restore(ref, [line], { actor: user.id });
			if (!result.ok) {
				log.warn(tag, "rejected", { warehouse_id: body.warehouse_id, ...line, reference: ref, reason: result.reason });
				raise(result);
			}
			log.info(tag, result.replayed ? "replayed" : "applied", { warehouse_id: body.warehouse_id, ...line, reference: ref, on_hand: result.levels[0]!.on_hand });
			return reply({ warehouse_id: body.warehouse_id, ...result.levels[0]! });
		},
	});

export const stockRoutes = [
	route({
		method: "get",
		path: "/admin/warehouses/:warehouse_id/stock",
		tag: "admin",
		summary: "Stock levels of a warehouse, with its open checkout holds",
		access: "admin",
		params: WarehouseParams,
		responses: { 200: { description: "Every unit the warehouse has stocked", schema: WarehouseStock } },
		errors: ["NOT_FOUND"],
		handler: async ({ env, params }) => {
			await requireWarehouse(env, params.warehouse_id);
			return reply(await stockView(env, params.warehouse_id));
		},
	}),
	route({
		method: "put",
		path: "/admin/warehouses/:warehouse_id/stock",
		tag: "admin",
		summary: "Set absolute on-hand levels (never below what is reserved), safety stock and low-stock thresholds",
		access: "admin",
		params: WarehouseParams,
		body: SetStockBody,
		responses: { 200: { description: "Every unit the warehouse has stocked, after the change", schema: WarehouseStock } },
		errors: ["INSUFFICIENT_STOCK", "NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params, body, user }) => {
			await requireWarehouse(env, params.warehouse_id);
			rejectKits(await requireUnits(env.DB, body.items, "items"), body.items, "items");
			const stub = warehouseStub(env, params.warehouse_id);
			const configs = await stub.shardConfigs();
			const isSharded = (i: Unit & { shards?: number }) => (i.shards ?? 1) > 1 || configs.some((c) => unitKey(c) === unitKey(i));
			const plain = body.items.filter((i) => !isSharded(i)).map(({ shards: _, ...i }) => i);
			const ref = newReference("set");
			if (plain.length > 0) {
				const result = await stub.setLevels(ref, plain, { actor: user.id, note: body.reason });
				if (!result.ok) raise(result);
			}
			// A sharded unit (or one becoming or ceasing to be so) is set at its pool, after its shards gave their free units back.
			for (const [n, i] of body.items.filter(isSharded).entries()) {
				const shards = i.shards ?? configs.find((c) => unitKey(c) === unitKey(i))!.shards;
				const result = await stub.setSharded(`${ref}:${n}`, { ...i, shards }, { actor: user.id, note: body.reason });
				if (!result.ok) raise(result);
				log.info("[stock]", "shards_set", { warehouse_id: params.warehouse_id, product_id: i.product_id, size: i.size, shards, on_hand: i.on_hand });
			}
			log.info("[stock]", "levels_set", { warehouse_id: params.warehouse_id, items: body.items.length });
			return reply(await stockView(env, params.warehouse_id));
		},
	}),
	route({
		method: "post",
		path: "/admin/warehouses/:warehouse_id/stock/adjust",
		tag: "admin",
		summary: "Adjust on-hand stock by a delta with a reason (idempotent by reference)",
		access: "admin",
		params: WarehouseParams,
		body: AdjustBody,
		responses: { 200: { description: "The unit's levels after the change", schema: Level } },
		errors: ["INSUFFICIENT_STOCK", "NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params, body, user }) => {
			await requireWarehouse(env, params.warehouse_id);
			rejectKits(await requireUnits(env.DB, [body]), [body]);
			const unit = { product_id: body.product_id, size: body.size };
			const result = await warehouseStub(env, params.warehouse_id).adjust(body.reference ?? newReference("adjust"), unit, body.delta, body.reason, {
				actor: user.id,
				note: body.note,
			});
			if (!result.ok) raise(result);
			log.info("[stock]", "adjusted", { warehouse_id: params.warehouse_id, ...unit, delta: body.delta, reason: body.reason, replayed: result.replayed });
			return reply(result.level);
		},
	}),
	route({
		method: "get",
		path: "/admin/warehouses/:warehouse_id/ledger",
		tag: "admin",
		summary: "The warehouse's stock ledger, oldest first",
		access: "admin",
		params: WarehouseParams,
		query: LedgerQuery,
		responses: { 200: { description: "A page of ledger entries; pass next_after as ?after= for the next", schema: LedgerPage } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params, query }) => {
			await requireWarehouse(env, params.warehouse_id);
			return reply(await ledgerWithShards(env, params.warehouse_id, query.after, query.limit));
		},
	}),
	moveRoute("deduct"),
	moveRoute("restore"),
];

