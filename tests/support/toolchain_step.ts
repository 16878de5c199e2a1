/**
 * The Go toolchain step run on its own against a local checksum database (sumdb_server.ts): what
 * the toolchain and checksum database tests share.
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { InstallPool } from "../../src/cache/install_pool.ts";
import type { ModuleRecord } from "../../src/engine/report.ts";
import {
  prefetchToolchain,
  type ToolchainOptions,
  toolchainVersion,
} from "../../src/engine/toolchain.ts";
import { ProxyClient } from "../../src/goproxy/goproxy.ts";
import { parseProxyList } from "../../src/goproxy/proxy_list.ts";
import { MemoryBudget } from "../../src/util/semaphore.ts";
import { makeWritable, snapshotTree, tempDir } from "./go.ts";
import { serveSumDb, type SumDbServer, type SumDbServerOptions } from "./sumdb_server.ts";

/** The toolchain version the tests fetch. */
export const VERSION = toolchainVersion("go9.99.0", "linux", "amd64");
/** Its module id. */
export const ID = `golang.org/toolchain@${VERSION}`;
/** The mode go gives the files it writes, under this process's umask. */
export const FILE_MODE = 0o666 & ~process.umask();

/** What {@link withServer} hands to a test. */
export interface StepSetup {
  /** GOMODCACHE. */
  root: string;
  /** `$GOPATH/pkg/sumdb`. */
  sumdbDir: string;
  opts: StepOptions;
  server: SumDbServer;
}

/**
 * Serves a checksum database and the toolchain zip (see {@link serveSumDb} for `options`), and
 * runs `body` with the options of a toolchain step on a fresh cache; removes everything after.
 */
export async function withServer(
  options: Partial<SumDbServerOptions>,
  body: (setup: StepSetup) => Promise<void>,
): Promise<void> {
  const server = await serveSumDb({ version: VERSION, ...options });
  const tmp = await tempDir("goprefetch-toolchain-");
  const root = join(tmp, "modcache");
  const sumdbDir = join(tmp, "gopath", "pkg", "sumdb");
  try {
    await body({
      root,
      sumdbDir,
      server,
      opts: {
        root,
        sumdbDir,
        version: VERSION,
        gosumdb: server.gosumdb,
        gonosumdb: "",
        goproxy: server.url,
        proxies: parseProxyList(server.url, ""),
        umask: 0o022,
        dryRun: false,
      },
    });
  } finally {
    await server.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The toolchain step's options but for the run's client and pool, which {@link prefetch} makes. */
export type StepOptions = Omit<ToolchainOptions, "client" | "pool">;

/** Runs the toolchain step as a run does: through a proxy client over `opts.proxies`, and an install pool. */
export async function prefetch(opts: StepOptions): Promise<ModuleRecord> {
  const client = new ProxyClient({
    entries: opts.proxies,
    concurrency: 4,
    retries: 0,
    stallTimeoutMs: 10_000,
    requestTimeoutMs: 60_000,
    budget: new MemoryBudget(1 << 20),
    umask: opts.umask,
    signal: opts.signal ?? new AbortController().signal,
  });
  const pool = new InstallPool(1);
  try {
    return await prefetchToolchain({ ...opts, client, pool });
  } finally {
    pool.close();
    client.close();
  }
}

/** The permission bits of `path`. */
export const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
/** go's cache of the test database's tiles and lookups under GOMODCACHE `root`. */
export const sumdbCache = (root: string) => join(root, "cache/download/sumdb/sumdb.test");
/** The cached `/lookup` answer of the toolchain under GOMODCACHE `root`. */
export const lookupFile = (root: string) => join(sumdbCache(root), `lookup/${ID}`);
/** go's `latest` tree note of the test database under `sumdbDir`. */
export const latestFile = (sumdbDir: string) => join(sumdbDir, "sumdb.test/latest");

/** Every file under `dir`, relative, sorted; empty when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const tree = await snapshotTree(dir).catch(() => new Map());
  return [...tree.values()].filter((e) => e.kind === "file").map((e) => e.path);
}
