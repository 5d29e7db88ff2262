// What the benchmark reads from the OS: the machine, tool versions, and the
// workerd processes a host started (which one serves a port, their peak RSS).
// Linux /proc only; elsewhere the memory fields are reported as null.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");

function readText(path) {
	try {
		return readFileSync(path, "utf8");
	} catch {
		return null;
	}
}

function version(pkg) {
	const text = readText(join(root, "node_modules", pkg, "package.json"));
	return text ? JSON.parse(text).version : null;
}

export function machine() {
	const cpus = os.cpus();
	let commit = null;
	let dirty = null;
	try {
		commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
		dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() !== "";
	} catch {
		/* not a git checkout */
	}
	const workerdPkg = readdirSync(join(root, "node_modules", "@cloudflare")).find((d) => d.startsWith("workerd-"));
	return {
		cores: cpus.length,
		cpu_model: cpus[0]?.model ?? "unknown",
		memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
		os: `${os.type()} ${os.release()} ${os.arch()}`,
		versions: {
			node: process.versions.node,
			wrangler: version("wrangler"),
			miniflare: version("miniflare"),
			workerd: workerdPkg ? version(join("@cloudflare", workerdPkg)) : null,
			stockgate: commit ? `${commit}${dirty ? " (with uncommitted changes in src/)" : ""}` : null,
		},
	};
}

/** Child processes of `ppid` whose executable is workerd. */
export function workerdChildren(ppid) {
	if (!existsSync("/proc")) return [];
	const out = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		const stat = readText(`/proc/${name}/stat`);
		if (!stat) continue;
		// pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
		const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
		const ppidOf = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
		if (ppidOf === ppid && comm.startsWith("workerd")) out.push(Number(name));
	}
	return out.sort((a, b) => a - b);
}

/** The pid among `pids` that holds the listening socket on 127.0.0.1:`port`. */
export function pidListeningOn(port, pids) {
	const inodes = new Set();
	for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		const text = readText(file);
		if (!text) continue;
		for (const line of text.split("\n").slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length < 10 || f[3] !== "0A") continue; // 0A = LISTEN
			if (parseInt(f[1].split(":")[1], 16) === port) inodes.add(f[9]);
		}
	}
	for (const pid of pids) {
		let fds = [];
		try {
			fds = readdirSync(`/proc/${pid}/fd`);
		} catch {
			continue;
		}
		for (const fd of fds) {
			try {
				const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
				if (m && inodes.has(m[1])) return pid;
			} catch {
				/* fd closed meanwhile */
			}
		}
	}
	return null;
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export function memoryOf(pid) {
	const status = pid ? readText(`/proc/${pid}/status`) : null;
	if (!status) return { peak_rss_mib: null, rss_mib: null };
	const kib = (field) => {
		const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
		return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
	};
	return { peak_rss_mib: kib("VmHWM"), rss_mib: kib("VmRSS") };
}

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSecondsOf(pid) {
	const stat = pid ? readText(`/proc/${pid}/stat`) : null;
	if (!stat) return null;
	const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	// utime and stime are fields 14 and 15 of stat (11 and 12 after the comm).
	return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU time the whole machine spent busy (all cores, everything but idle and iowait) so far, in seconds. */
export function machineBusySeconds() {
	const line = readText("/proc/stat")?.split("\n")[0];
	if (!line?.startsWith("cpu ")) return null;
	const f = line.trim().split(/\s+/).slice(1).map(Number);
	const idle = (f[3] ?? 0) + (f[4] ?? 0);
	return (f.reduce((s, v) => s + v, 0) - idle) / 100;
}
