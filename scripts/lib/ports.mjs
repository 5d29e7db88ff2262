// A free TCP port on 127.0.0.1, for a local server started next (bench hosts, the contract check's proxy).
import net from "node:net";

/** @returns {Promise<number>} */
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on("error", reject);
		srv.listen(0, "127.0.0.1", () => {
			const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
			srv.close(() => resolve(port));
		});
	});
}
