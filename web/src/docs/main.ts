/**
 * /docs: the Scalar API reference over the Worker's own /openapi.json, bundled
 * into this build (no CDN). Everything that would reach another host is turned
 * off: Scalar's web fonts, telemetry, its request proxy, the developer toolbar,
 * the agent and MCP panels. "Test request" still works: the document's server
 * is "/", so requests go to this same origin (test/browser/docs.test.ts checks
 * that no request leaves for another host).
 */
import { createApiReference } from "@scalar/api-reference";
import "@scalar/api-reference/style.css";

createApiReference("#app", {
	url: "/openapi.json",
	withDefaultFonts: false,
	telemetry: false,
	showDeveloperTools: "never",
	agent: { disabled: true },
	mcp: { disabled: true },
	// Same-origin requests need no proxy; an empty one means none is ever used.
	proxyUrl: "",
	hideClientButton: true,
	// Every tag open: the page lists all routes without a click.
	defaultOpenAllTags: true,
	authentication: { preferredSecurityScheme: "bearerAuth" },
	documentDownloadType: "json",
});
