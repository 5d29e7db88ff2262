/**
 * Every route of the gateway, in one list: the router and the OpenAPI document
 * are both built from it.
 */
import { cartRoutes } from "./cart/routes";
import { catalogRoutes } from "./catalog/routes";
import { checkoutRoutes } from "./checkout/routes";
import { demoRoutes } from "./demo/routes";
import type { RouteDef } from "./http/route";
import { opsRoutes } from "./ops/routes";
import { orderRoutes } from "./orders/routes";
import { paymentRoutes } from "./payments/routes";
import { stockRoutes } from "./stock/routes";
import { transferRoutes } from "./transfers/routes";
import { webhookRoutes } from "./webhooks/routes";

export const routes: RouteDef[] = [];
routes.push(...opsRoutes(() => routes), ...catalogRoutes, ...stockRoutes, ...cartRoutes, ...checkoutRoutes, ...orderRoutes, ...paymentRoutes, ...demoRoutes, ...transferRoutes, ...webhookRoutes);
