/**
 * The Go toolchain step and the event loop: goprefetch fetches a `golang.org/toolchain` zip the
 * size of a real one (about 60 MiB: incompressible binaries and thousands of source files),
 * checked against a local checksum database, under the lag probe (lag_probe.ts). The table gives
 * the run's time and how late the main thread's 10 ms ticks fired: an install on the main thread
 * shows as a lag as long as the install.
 *
 * Run: `deno run -A bench/toolchain_lag.ts [--runs N] [--tmp DIR]` (also `deno task bench
 * --toolchain`). Everything is served from 127.0.0.1 (tests/support/sumdb_server.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { measure } from "./contenders.ts";
import type { LagStats } from "./lag_probe.ts";
import { serveSumDb } from "../tests/support/sumdb_server.ts";
import { removeTree } from "../src/util/files.ts";

const LAG_PROBE = join(new URL(".", import.meta.url).pathname, "lag_probe.ts");
const TOOLCHAIN = "go9.99.0";
const VERSION = `v0.0.1-${TOOLCHAIN}.linux-amd64`;

/** The system's temp directory. */
export function tmpDir(): string {
  return Deno.env.get("TMPDIR") ?? "/tmp";
}

/** One measured run. */
export interface ToolchainRun {
  wallMs: number;
  cpuS: number;
  maxRssKiB: number;
  lag: LagStats;
}

/**
 * Files that make the toolchain zip about the size of a real one: 16 incompressible 2.5 MiB
 * "binaries" and 4,000 Go-like source files of 12 KiB that deflate about 4 to 1.
 */
export function toolchainPayload(): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = {};
  for (let i = 0; i < 16; i++) {
    const bin = new Uint8Array(5 << 19);
    for (let at = 0; at < bin.length; at += 65536) {
      crypto.getRandomValues(bin.subarray(at, at + 65536));
    }
    files[`pkg/tool/linux_amd64/tool${i}`] = bin;
  }
  for (let i = 0; i < 4000; i++) {
    const lines = Array.from({ length: 300 }, (_, j) => `\tx${j} := f${(i * 31 + j) % 977}(${j})`);
    files[`src/pkg${i % 200}/file${i}.go`] = `package pkg${i % 200}\n\nfunc g() {\n${
      lines.join("\n")
    }\n}\n`;
  }
  return files;
}

/** Runs goprefetch with `--toolchain` once on a fresh cache under `work`, under the lag probe. */
async function runOnce(work: string, proxy: string, gosumdb: string): Promise<ToolchainRun> {
  removeTree(work);
  const project = join(work, "m");
  const goroot = join(work, "goroot");
  await Deno.mkdir(project, { recursive: true });
  await Deno.mkdir(goroot, { recursive: true });
  await Deno.writeTextFile(join(goroot, "VERSION"), "go1.22.0\n");
  await Deno.writeTextFile(join(project, "go.mod"), "module example.com/m\n\ngo 1.21\n");
  await Deno.writeTextFile(join(project, "go.sum"), "");
  const lagFile = join(work, "lag.json");
  const env = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: work,
    GOENV: "off",
    GOROOT: goroot,
    GOPATH: join(work, "gopath"),
    GOMODCACHE: join(work, "modcache"),
    GOPROXY: proxy,
    GOSUMDB: gosumdb,
    GOTOOLCHAIN: "auto",
  };
  const argv = ["deno", "run", "-A", LAG_PROBE, lagFile, "-q", "--toolchain", TOOLCHAIN, project];
  const m = await measure(argv, project, env);
  if (m.code !== 0) throw new Error(`Bench: the toolchain run failed: ${m.stderrTail}`);
  const lag = JSON.parse(await Deno.readTextFile(lagFile)) as LagStats;
  return { wallMs: m.wallMs, cpuS: m.cpuS, maxRssKiB: m.maxRssKiB, lag };
}

/** Serves the toolchain and runs goprefetch on it `runs` times, in scratch directory `tmp`. */
export async function benchToolchain(runs: number, tmp: string): Promise<ToolchainRun[]> {
  const payload = toolchainPayload();
  const server = await serveSumDb({ version: VERSION, extraFiles: payload });
  const work = await Deno.makeTempDir({ dir: tmp, prefix: "gpb-toolchain-" });
  try {
    const out: ToolchainRun[] = [];
    for (let i = 0; i < runs; i++) {
      out.push(await runOnce(join(work, "run"), server.url, server.gosumdb));
    }
    return out;
  } finally {
    await server.close();
    removeTree(work);
  }
}

/** The Markdown table of the runs. */
export function toolchainTable(runs: ToolchainRun[]): string {
  const rows = runs.map((r, i) =>
    `| ${i + 1} | ${(r.wallMs / 1000).toFixed(2)} | ${r.cpuS.toFixed(2)} | ` +
    `${Math.round(r.maxRssKiB / 1024)} | ${r.lag.p50Ms.toFixed(1)} | ${r.lag.p99Ms.toFixed(1)} | ` +
    `${r.lag.maxMs.toFixed(1)} |`
  );
  return [
    "| Run | Wall s | CPU s | Peak RSS MiB | Lag p50 ms | Lag p99 ms | Lag max ms |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string" }, tmp: { type: "string" } },
  });
  const runs = await benchToolchain(Number(values.runs ?? 3), values.tmp ?? tmpDir());
  console.log(toolchainTable(runs));
}
