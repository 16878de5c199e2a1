/**
 * Reliability against a misbehaving proxy: transient faults (error statuses, 408, 429 with
 * Retry-After, resets, short bodies, stalls) are retried and reported, benign ones (redirects
 * to a second origin, gzip) accepted, a body that drips is cut off at the request deadline
 * and retried, and permanent ones (403, 404, corrupt bytes, a zip over go's size limit, a 503
 * that outlasts --retries) fail exactly their modules. The go command, against a clean proxy,
 * is the oracle for what the cache must hold.
 */
import { withProxyProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { runPrefetch } from "../../src/engine/prefetch.ts";
import { diffTrees, runGo, snapshotTree, tempDir, type TreeEntry } from "../support/go.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { testHost } from "../support/host.ts";
import type { ModuleSpec } from "../support/modules.ts";
import {
  BENIGN_FAULTS,
  type FaultLogEntry,
  type FaultProxy,
  type FaultProxyOptions,
  serveFaultProxy,
  TRANSIENT_FAULTS,
} from "../support/fault_proxy.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";

const notLock = (rel: string) => rel.endsWith(".lock");

/** The decoded proxy path of one of a module's files. */
function proxyPath(m: { path: string; version: string }, ext: "info" | "mod" | "zip"): string {
  return `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.${ext}`;
}

/** The module a proxy path belongs to, as `path@version` with escapes undone. */
function moduleOf(path: string): string {
  const at = path.indexOf("/@v/");
  const unescape = (s: string) => s.replace(/!([a-z])/g, (_, c: string) => c.toUpperCase());
  const version = path.slice(at + 4, path.lastIndexOf("."));
  return `${unescape(path.slice(1, at))}@${unescape(version)}`;
}

/** Retries per module from the `-v` lines, e.g. `fetched   m@v1.0.0  787 B  ...  2 retries`. */
function retriesPerModule(run: CliRun): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of run.stderr.matchAll(/^fetched +(\S+) .*$/gm)) {
    out.set(m[1], Number(/ (\d+) retr(?:y|ies)$/.exec(m[0])?.[1] ?? 0));
  }
  return out;
}

/** Faults the client must retry, per module. */
function faultsPerModule(log: FaultLogEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of log) {
    const counted = (TRANSIENT_FAULTS as string[]).includes(e.fault) ? 1 : 0;
    out.set(moduleOf(e.path), (out.get(moduleOf(e.path)) ?? 0) + counted);
  }
  return out;
}

interface Setup {
  tmp: string;
  project: string;
  /** The cache `go mod download` filled from the clean proxy. */
  oracle: Map<string, TreeEntry>;
  env(gomodcache: string, goproxy: string, extra?: Record<string, string>): Record<string, string>;
}

/** Publishes `specs`, writes the project, fills the oracle cache with go, then runs `fn`. */
async function withModules(
  specs: ModuleSpec[],
  faults: Omit<FaultProxyOptions, "root">,
  fn: (s: Setup, proxy: FaultProxy) => Promise<void>,
): Promise<void> {
  await withProxyProject("goprefetch-faults-", specs, async (p) => {
    const { tmp, project } = p;
    await writeTinyProject(project, specs);
    const env = (gomodcache: string, goproxy: string, extra: Record<string, string> = {}) =>
      p.env(gomodcache, extra, goproxy);
    const proxy = await serveFaultProxy({ root: p.root, ...faults });
    try {
      const download = await runGo(["mod", "download"], {
        cwd: project,
        env: env(join(tmp, "oracle"), p.proxy.url),
      });
      assert.equal(download.code, 0, download.stderr);
      const oracle = await snapshotTree(join(tmp, "oracle"), { ignore: notLock });
      await fn({ tmp, project, oracle, env }, proxy);
    } finally {
      await proxy.close();
    }
  });
}

/** Per path, the gap in ms between a request with `fault` and the next request for that path. */
function gapsAfter(log: FaultLogEntry[], faults: string[]): number[] {
  const gaps: number[] = [];
  const primary = log.filter((e) => e.origin === "primary");
  primary.forEach((e, i) => {
    if (!faults.includes(e.fault)) return;
    const next = primary.slice(i + 1).find((n) => n.path === e.path);
    assert.ok(next, `${e.path} was not asked for again after a ${e.fault}`);
    gaps.push(next.at - e.at);
  });
  return gaps;
}

Deno.test("at a 20% fault rate, 201 modules arrive intact and every retry is reported", async () => {
  const specs = tinyModules(200, { big: { files: 100, bytes: 2 << 20 } });
  const big = specs[specs.length - 1];
  await withModules(specs, {
    seed: 20240611,
    rate: 0.2,
    maxFaultsPerPath: 4,
    retryAfterSeconds: 1,
    stallMs: 10_000,
    script: { [proxyPath(big, "zip")]: ["stall", "reset", "short", "redirect"] },
  }, async (s, proxy) => {
    const cache = join(s.tmp, "cache");
    const json = join(s.tmp, "report.json");
    const run = await runCli(["-v", "--stall-timeout", "2", `--json=${json}`, "."], {
      cwd: s.project,
      env: s.env(cache, proxy.url),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /201 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );

    const applied = new Set(proxy.log.map((e) => e.fault));
    for (const kind of [...TRANSIENT_FAULTS, ...BENIGN_FAULTS]) {
      assert.ok(applied.has(kind), `no request really got a ${kind} fault; pick another seed`);
    }
    const redirects = proxy.log.filter((e) => e.fault === "redirect" && e.path.endsWith(".zip"));
    assert.equal(proxy.log.filter((e) => e.origin === "second").length, redirects.length);

    const injected = new Map([...faultsPerModule(proxy.log)].sort());
    const printed = retriesPerModule(run);
    assert.equal(printed.size, specs.length);
    assert.deepEqual(new Map([...printed].sort()), injected);
    const report = JSON.parse(await Deno.readTextFile(json)) as {
      modules: { path: string; version: string; retries: number }[];
    };
    const inReport = report.modules.map((m) => [`${m.path}@${m.version}`, m.retries] as const);
    assert.deepEqual(new Map(inReport.sort()), injected);
    const bigZip = proxy.log.filter((e) => e.path === proxyPath(big, "zip"));
    assert.deepEqual(bigZip.map((e) => `${e.origin} ${e.fault}`), [
      "primary stall",
      "primary reset",
      "primary short",
      "primary redirect",
      "second none",
    ]);

    for (const gap of gapsAfter(proxy.log, ["429"])) {
      assert.ok(gap >= 950, `Retry-After: ${gap} ms`);
    }
    // The watchdog starts before the request leaves (it covers connecting), so the proxy may
    // see the retry a little less than the 2 s stall timeout after the request that stalled.
    for (const gap of gapsAfter(proxy.log, ["stall", "hang"])) {
      assert.ok(gap >= 1500 && gap < 8000, `a stall was retried after ${gap} ms`);
    }
    for (const gap of gapsAfter(proxy.log, ["500", "502", "503", "reset", "short"])) {
      assert.ok(gap >= 100, `retried after ${gap} ms, with no backoff`);
    }

    const ours = await snapshotTree(cache, { ignore: notLock });
    assert.deepEqual(diffTrees(s.oracle, ours), []);
    const verify = await runGo(["mod", "verify"], {
      cwd: s.project,
      env: s.env(cache, "off"),
    });
    assert.equal(verify.code, 0, verify.stderr);
  });
});

Deno.test("permanent faults fail exactly their modules, each with a clear message", async () => {
  const specs = tinyModules(30);
  const [forbidden, corruptZip, corruptMod, missing, unavailable] = specs;
  const oversize = specs[6];
  const failing = new Map<ModuleSpec, RegExp>([
    [forbidden, /: http:\/\/127\.0\.0\.1:\d+: 403 Forbidden: forbidden by the fault proxy$/],
    [corruptZip, /: zip entry "[^"]+": (invalid deflate data|.*CRC)|: checksum mismatch/],
    [corruptMod, /go\.mod checksum mismatch: the proxy's go\.mod has h1:/],
    [missing, /: 404 Not Found: not found$/],
    [unavailable, /503 Service Unavailable: injected fault \(gave up after 2 retries\)$/],
    [oversize, /:\d+: the zip is larger than 500 MiB, go's limit for a module zip$/],
  ]);
  await withModules(specs, {
    seed: 7,
    rate: 0.2,
    maxFaultsPerPath: 2,
    kinds: ["500", "503", "reset", "short", "gzip"],
    fixed: {
      [proxyPath(forbidden, "zip")]: "forbidden",
      [proxyPath(corruptZip, "zip")]: "corrupt",
      [proxyPath(corruptMod, "mod")]: "corrupt",
      [proxyPath(missing, "zip")]: "notFound",
      [proxyPath(unavailable, "zip")]: "503",
      [proxyPath(oversize, "zip")]: "oversize",
    },
  }, async (s, proxy) => {
    const cache = join(s.tmp, "cache");
    const run = await runCli(
      ["-v", "--continue-on-error", "--retries", "2", "--stall-timeout", "1", "."],
      { cwd: s.project, env: s.env(cache, proxy.url) },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /24 fetched, 0 already cached, 0 skipped \(private\/direct\), 6 failed/,
    );
    const errors = run.stderr.split("\n").filter((l) => l.startsWith("goprefetch: error: "));
    assert.equal(errors.length, failing.size, run.stderr);
    for (const [m, pattern] of failing) {
      const line = errors.find((l) => l.startsWith(`goprefetch: error: ${m.path}@${m.version}: `));
      assert.ok(line, `no error names ${m.path}@${m.version}:\n${run.stderr}`);
      assert.match(line, pattern);
    }

    const asked = (path: string) => proxy.log.filter((e) => e.path === path).length;
    assert.equal(asked(proxyPath(forbidden, "zip")), 1, "a 403 was retried");
    assert.equal(asked(proxyPath(corruptZip, "zip")), 1, "a corrupt zip was downloaded again");
    assert.equal(asked(proxyPath(missing, "zip")), 1, "a 404 was retried");
    assert.equal(asked(proxyPath(unavailable, "zip")), 3, "--retries 2 is not three attempts");
    assert.equal(asked(proxyPath(oversize, "zip")), 1, "a zip over the limit was retried");

    const failedDirs = [...failing.keys()].map((m) => escapePath(m.path));
    const ours = await snapshotTree(cache, { ignore: notLock });
    for (const line of diffTrees(s.oracle, ours)) {
      assert.ok(
        failedDirs.some((d) => line.includes(d)),
        `a module that succeeded differs: ${line}`,
      );
    }
    for (const m of [forbidden, corruptZip, missing, unavailable, oversize]) {
      const dir = `${escapePath(m.path)}@${escapeVersion(m.version)}`;
      assert.ok(!ours.has(dir), `${dir} was extracted`);
      const base = `cache/download/${escapePath(m.path)}/@v/${escapeVersion(m.version)}`;
      assert.ok(!ours.has(`${base}.zip`) && !ours.has(`${base}.ziphash`), `${base}: zip left`);
    }
    const corruptModFile = `cache/download/${escapePath(corruptMod.path)}/@v/` +
      `${escapeVersion(corruptMod.version)}.mod`;
    assert.ok(!ours.has(corruptModFile), "the corrupt go.mod was written");
  });
});

Deno.test("a body that drips under the stall timeout is cut off at each attempt's deadline", async () => {
  const specs = tinyModules(4);
  const [once, always] = specs;
  const deadlineMs = 1500;
  await withModules(specs, {
    dripMs: 100,
    script: { [proxyPath(once, "zip")]: ["drip"], [proxyPath(always, "zip")]: ["drip", "drip"] },
  }, async (s, proxy) => {
    const cache = join(s.tmp, "cache");
    const report = await runPrefetch({
      proxy: proxy.url,
      retries: 1,
      stallTimeoutMs: 1000,
      requestTimeoutMs: deadlineMs,
      continueOnError: true,
    }, testHost(s.env(cache, proxy.url), s.project));
    const record = (m: ModuleSpec) => report.modules.find((r) => r.path === m.path)!;
    assert.equal(record(once).status, "fetched", record(once).error);
    assert.equal(record(once).retries, 1);
    assert.equal(
      record(always).error,
      `${always.path}@${always.version}: ${proxy.url}: the request did not finish within 1.5 s ` +
        "(gave up after 1 retries)",
    );
    assert.equal(report.totals.fetched, specs.length - 1);

    for (const m of [once, always]) {
      const asked = proxy.log.filter((e) => e.path === proxyPath(m, "zip"));
      assert.deepEqual(asked.map((e) => e.fault), m === once ? ["drip", "none"] : ["drip", "drip"]);
      const gap = asked[1].at - asked[0].at;
      assert.ok(gap >= deadlineMs - 50 && gap < deadlineMs + 1000, `retried after ${gap} ms`);
    }
    const ours = await snapshotTree(cache, { ignore: notLock });
    const failed = escapePath(always.path);
    assert.deepEqual(diffTrees(s.oracle, ours).filter((l) => !l.includes(failed)), []);
  });
});

Deno.test("bad --retries and --stall-timeout values are usage errors", async () => {
  const cwd = await tempDir("goprefetch-faults-flags-");
  try {
    for (
      const [args, message] of [
        [["--retries=-1"], /--retries must be a whole number of at least 0, got "-1"/],
        [["--retries", "two"], /--retries must be a whole number/],
        [["--stall-timeout", "0"], /--stall-timeout must be a number of seconds above 0, got "0"/],
        [["--stall-timeout", "soon"], /--stall-timeout must be a number of seconds/],
      ] as const
    ) {
      const run = await runCli([...args, "."], {
        cwd,
        env: { PATH: Deno.env.get("PATH")! },
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
