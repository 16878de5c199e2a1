/**
 * The benchmark's contenders and how one is run: each fills a fresh GOMODCACHE from the local
 * proxy as a child process under `/usr/bin/time`, which reports its CPU time and peak RSS. On
 * the TLS profiles each trusts the bench CA through its environment ({@link goEnv}).
 *
 * @module
 */
import { join } from "node:path";
import { type Mirror, proxyTree } from "./mirror.ts";

/**
 * What a contender is. Floors are not tools but bounds on any tool; `goprefetch-file` is
 * goprefetch reading the mirror through a `file://` proxy, with no network at all.
 */
export type ContenderKind =
  | "goprefetch"
  | "goprefetch-file"
  | "go"
  | "rust"
  | "net-floor"
  | "disk-floor";

/** Whether `kind` reads the mirror from disk rather than through the local proxy. */
export function isLocal(kind: ContenderKind): boolean {
  return kind === "goprefetch-file" || kind === "disk-floor";
}

/** One contender, as it appears in a row of the report. */
export interface Contender {
  /** Row label, e.g. `goprefetch -c 16`. */
  name: string;
  /** What runs. */
  kind: ContenderKind;
  /** Requests in flight at most, where the contender takes it. */
  concurrency: number;
  /** For `goprefetch`: run it under the event-loop lag probe (lag_probe.ts). */
  lagProbe?: boolean;
}

/** Where a contender runs: the set's files, the proxy to use and the cache to fill. */
export interface RunTarget {
  /** The set's mirror. */
  mirror: Mirror;
  /** A directory holding the project's go.mod and go.sum (and nothing else). */
  sumDir: string;
  /** For sets that do not build alone: the project's go.mod less local replaces (gate.ts). */
  gateDir: string | null;
  /** The empty GOMODCACHE to fill. */
  modCache: string;
  /** The local proxy's URL, or a `file://` URL of the mirror for local contenders. */
  proxyUrl: string;
  /** A file listing every GOPROXY file of the set, one per line (for the network floor). */
  fileList: string;
  /** The Rust go-prefetch binary for this run's profile, when it was built. */
  rustBin: string | null;
  /** Where the lag probe writes its figures, for a contender with `lagProbe`. */
  lagFile: string;
}

/** What one run of a contender cost. */
export interface Measurement {
  /** Wall time in milliseconds, from spawn to exit. */
  wallMs: number;
  /** User plus system CPU seconds of the child and its descendants. */
  cpuS: number;
  /** The system (kernel) part of `cpuS`. */
  sysS: number;
  /** Peak resident set size of the child in KiB (the largest single process). */
  maxRssKiB: number;
  /** Exit status. */
  code: number;
  /** The last lines of stderr, for failures. */
  stderrTail: string;
}

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const CLI_TS = join(BENCH_DIR, "..", "cli.ts");
const LAG_PROBE = join(BENCH_DIR, "lag_probe.ts");

/**
 * The environment every contender gets: the run's cache and proxy, no checksum database, no
 * user go env file, no toolchain switch, and no private-module settings from the caller. With
 * `caFile` (the TLS profiles), the bench CA is trusted: DENO_CERT for Deno programs,
 * SSL_CERT_FILE for go and the Rust go-prefetch.
 */
export function goEnv(
  modCache: string,
  goproxy: string,
  caFile: string | null,
): Record<string, string> {
  const env = Deno.env.toObject();
  for (const k of Object.keys(env)) {
    if (k.startsWith("GO") || k === "DENO_CERT" || k === "SSL_CERT_FILE") delete env[k];
  }
  return {
    ...env,
    ...(caFile ? { DENO_CERT: caFile, SSL_CERT_FILE: caFile } : {}),
    GOMODCACHE: modCache,
    GOPROXY: goproxy,
    GOFLAGS: "-mod=mod",
    GOSUMDB: "off",
    GOTOOLCHAIN: "local",
    GOENV: "off",
  };
}

/** The command line that runs `c` on `t`: program and arguments, and its working directory. */
export function commandFor(c: Contender, t: RunTarget): { argv: string[]; cwd: string } {
  const n = String(c.concurrency);
  switch (c.kind) {
    case "goprefetch": {
      const entry = c.lagProbe ? [LAG_PROBE, t.lagFile] : [CLI_TS];
      return { argv: ["deno", "run", "-A", ...entry, "-q", "-c", n, t.sumDir], cwd: t.sumDir };
    }
    case "goprefetch-file":
      return {
        argv: ["deno", "run", "-A", CLI_TS, "-q", "-c", n, "--proxy", t.proxyUrl, t.sumDir],
        cwd: t.sumDir,
      };
    case "disk-floor":
      return {
        argv: [
          "deno",
          "run",
          "-A",
          join(BENCH_DIR, "disk_floor.ts"),
          proxyTree(t.mirror),
          t.modCache,
          t.fileList,
          n,
        ],
        cwd: t.sumDir,
      };
    case "rust":
      return { argv: [t.rustBin ?? "go-prefetch", "-q", "-c", n, t.sumDir], cwd: t.sumDir };
    case "go":
      return { argv: ["go", "mod", "download"], cwd: t.gateDir ?? t.sumDir };
    case "net-floor":
      return {
        argv: [
          "deno",
          "run",
          "--allow-net=127.0.0.1",
          "--allow-read",
          join(BENCH_DIR, "net_floor.ts"),
          t.proxyUrl,
          n,
          t.fileList,
        ],
        cwd: t.sumDir,
      };
  }
}

/**
 * Runs `argv` under `/usr/bin/time` with `env`, and measures it.
 *
 * @example
 * ```ts
 * import { measure } from "./contenders.ts";
 * const m = await measure(["true"], "/tmp", {});
 * console.log(m.wallMs, m.maxRssKiB);
 * ```
 */
export async function measure(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Measurement> {
  const timeFile = await Deno.makeTempFile({ prefix: "gpb-time-" });
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "-o", timeFile, ...argv],
    cwd,
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - start;
  const [user, sys, rss] = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!
    .split(" ").map(Number);
  await Deno.remove(timeFile);
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
  return {
    wallMs,
    cpuS: user + sys,
    sysS: sys,
    maxRssKiB: rss,
    code: out.code,
    stderrTail: stderr,
  };
}
