export interface ShopProduct {
	id: string;
	name: string;
	price: number;
	sizes: string[];
	max_per_customer?: number;
}

export interface StockLevel {
	product_id: string;
	size: string;
	on_hand: number;
}

export interface ShopWarehouse {
	id: string;
	name: string;
	postal_code: string;
	region: string;
	country: string;
	active?: boolean;
	stock?: StockLevel[];
}

export function openShop(
	call: (method: string, path: string, body: unknown) => Promise<unknown>,
	shop: { products: readonly ShopProduct[]; warehouses: readonly ShopWarehouse[]; reason: string },
	opts?: { concurrency?: number },
): Promise<void>;
