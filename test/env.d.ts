import type { D1Migration } from "cloudflare:test";

declare global {
	namespace Cloudflare {
		interface Env {
			TEST_MIGRATIONS: D1Migration[];
			/** The host's STOCKGATE_SEED ("" when unset), passed through by vitest.config.ts. */
			STOCKGATE_SEED: string;
		}
	}
}

declare global {
	namespace Cloudflare {
		interface GlobalProps {
			mainModule: typeof import("../src/index");
		}
	}
}

declare module "vitest" {
	export interface ProvidedContext {
		/** Base URL of the Node-side webhook receiver (test/webhooks/receiver.mts). */
		webhookReceiver: string;
		/** Base URL of the Node-side fake Stripe API (test/stripe/fake-stripe.mts). */
		fakeStripe: { base: string; secretKey: string };
	}
}
