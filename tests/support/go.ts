/**
 * The go command as a test oracle: a hermetic environment, running go, building a main module
 * with an authentic go.sum, and snapshotting directory trees to compare module caches.
 *
 * @module
 */

import { join } from "node:path";
import { runProcess } from "./cli.ts";

/** The outcome of one go command. */
export interface GoRun {
  /** The exit code. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** One entry of {@linkcode snapshotTree}. */
export interface TreeEntry {
  /** The path relative to the snapshot root, with `/` separators. */
  path: string;
  /** A regular file or a directory. */
  kind: "file" | "dir";
  /** The permission bits (`mode & 0o777`). */
  mode: number;
  /** The hex SHA-256 of a file's contents. */
  sha256?: string;
}

/**
 * A complete environment for the go command that reaches nothing but `goproxy`: no sumdb, no
 * GOFLAGS, no toolchain switching, no user config, and GOPATH, GOCACHE and HOME under `home`.
 * Only PATH is inherited; pass it to {@linkcode runGo}, which clears everything else.
 *
 * `GO_TELEMETRY_CHILD=2` tells go it runs under telemetry's own sidecar, so it starts no
 * detached sidecar of its own: one that outlives go writes under `home/.config` while the test
 * removes `home`, and the removal fails with "Directory not empty" (seen once in CI).
 *
 * @example
 * ```ts
 * const env = goEnv({ home, gomodcache: `${home}/modcache`, goproxy: proxy.url });
 * ```
 */
export function goEnv(
  opts: { home: string; gomodcache: string; goproxy: string; extra?: Record<string, string> },
): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: opts.home,
    GOPATH: join(opts.home, "gopath"),
    GOCACHE: join(opts.home, "gocache"),
    GOMODCACHE: opts.gomodcache,
    GOPROXY: opts.goproxy,
    GOSUMDB: "off",
    GONOSUMDB: "",
    GOPRIVATE: "",
    GONOPROXY: "",
    GOINSECURE: "",
    GOFLAGS: "",
    GOTOOLCHAIN: "local",
    GOENV: "off",
    GOWORK: "off",
    GODEBUG: "",
    GOAUTH: "off",
    GOVCS: "*:off",
    GO111MODULE: "on",
    CGO_ENABLED: "0",
    GO_TELEMETRY_CHILD: "2",
    ...opts.extra,
  };
}

/**
 * Runs `go args…` in `cwd` with exactly `env` (nothing is inherited) and collects its output.
 *
 * @example
 * ```ts
 * const { code, stderr } = await runGo(["mod", "download"], { cwd, env });
 * ```
 */
export async function runGo(
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<GoRun> {
  return await runProcess(["go", ...args], opts);
}

/**
 * Writes a main module in `dir` (go.mod requiring `requires`, main.go importing `imports` for
 * their side effects) and runs `go mod tidy` against the proxy in `env` to get an authentic
 * go.sum. Tidy downloads into `env.GOMODCACHE`, so use a cache other than the one under test.
 *
 * @throws {Error} with go's stderr if `go mod tidy` fails.
 * @example
 * ```ts
 * await makeMainModule(dir, { requires: STANDARD_REQUIRES, imports: STANDARD_IMPORTS, env });
 * ```
 */
export async function makeMainModule(
  dir: string,
  opts: {
    modulePath?: string;
    goVersion?: string;
    requires: { path: string; version: string }[];
    imports?: string[];
    env: Record<string, string>;
  },
): Promise<void> {
  const requires = opts.requires.map((r) => `\t${r.path} ${r.version}\n`).join("");
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    `module ${opts.modulePath ?? "example.com/main"}\n\ngo ${opts.goVersion ?? "1.21"}\n\n` +
      `require (\n${requires})\n`,
  );
  const imports = (opts.imports ?? []).map((p) => `\t_ ${JSON.stringify(p)}\n`).join("");
  await Deno.writeTextFile(
    join(dir, "main.go"),
    `package main\n\nimport (\n${imports})\n\nfunc main() {}\n`,
  );
  const run = await runGo(["mod", "tidy"], {
    cwd: dir,
    env: { ...opts.env, GOFLAGS: "-mod=mod" },
  });
  if (run.code !== 0) {
    throw new Error(`go mod tidy failed in ${dir} (exit ${run.code}):\n${run.stderr}`);
  }
}

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return new Uint8Array(digest).toHex();
}

/**
 * Every file and directory under `root` (not `root` itself), keyed by relative path, with
 * permission bits and file hashes. Symbolic links are not followed and make it throw.
 *
 * @example
 * ```ts
 * const tree = await snapshotTree(cache, { ignore: (p) => p.startsWith("cache/vcs") });
 * ```
 */
export async function snapshotTree(
  root: string,
  opts: { ignore?: (relPath: string) => boolean } = {},
): Promise<Map<string, TreeEntry>> {
  const tree = new Map<string, TreeEntry>();
  const walk = async (rel: string): Promise<void> => {
    for await (const child of Deno.readDir(join(root, rel))) {
      const path = rel === "" ? child.name : `${rel}/${child.name}`;
      if (opts.ignore?.(path)) continue;
      const abs = join(root, path);
      const info = await Deno.lstat(abs);
      const mode = (info.mode ?? 0) & 0o777;
      if (info.isDirectory) {
        tree.set(path, { path, kind: "dir", mode });
        await walk(path);
      } else if (info.isFile) {
        tree.set(path, { path, kind: "file", mode, sha256: await sha256Hex(abs) });
      } else {
        throw new Error(`${abs}: not a regular file or directory`);
      }
    }
  };
  await walk("");
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Human-readable differences between two snapshots (`a` is "expected", `b` "actual"), sorted by
 * path; empty when they are identical.
 *
 * @example
 * ```ts
 * assert.deepEqual(diffTrees(goCache, ourCache), []);
 * ```
 */
export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>): string[] {
  const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: string[] = [];
  for (const path of paths) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === undefined) out.push(`${path}: only in b (${y?.kind})`);
    else if (y === undefined) out.push(`${path}: only in a (${x.kind})`);
    else if (x.kind !== y.kind) out.push(`${path}: ${x.kind} in a, ${y.kind} in b`);
    else {
      if (x.mode !== y.mode) out.push(`${path}: mode ${octal(x.mode)} in a, ${octal(y.mode)} in b`);
      if (x.sha256 !== y.sha256) out.push(`${path}: contents differ`);
    }
  }
  return out;
}

/**
 * Adds owner write permission to everything under `root`, so that `Deno.remove` can delete the
 * read-only trees the go command extracts (0555 directories, 0444 files).
 *
 * @example
 * ```ts
 * await makeWritable(dir);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function makeWritable(root: string): Promise<void> {
  const info = await Deno.lstat(root);
  if (info.isSymlink) return;
  await Deno.chmod(root, ((info.mode ?? 0) & 0o7777) | 0o200);
  if (!info.isDirectory) return;
  for await (const child of Deno.readDir(root)) await makeWritable(join(root, child.name));
}

/**
 * A new empty temporary directory whose name starts with `prefix`. Remove it with
 * {@linkcode makeWritable} and `Deno.remove(dir, { recursive: true })`.
 *
 * @example
 * ```ts
 * const dir = await tempDir("goprefetch-oracle-");
 * ```
 */
export async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

/** Inode and modification time of every entry under `root`, to prove nothing was rewritten. */
export async function fileIdentities(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const info = await Deno.lstat(path);
      out.set(join(rel, e.name), `${info.ino}:${info.mtime?.getTime()}:${info.mode}`);
      if (info.isDirectory) await walk(path, join(rel, e.name));
    }
  };
  await walk(root, "");
  return out;
}
