/**
 * The command line on bad input and in its modes: exit codes and messages for broken
 * projects and flags, go.sum warnings, vendor mode, dry runs, verbosity, -modcacherw, and the
 * parts of the go environment it resolves itself (GOMODCACHE, GOENV).
 */
import { makeSandbox, type Sandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { VERSION } from "../../src/engine/version.ts";
import { diffTrees, runGo, snapshotTree } from "../support/go.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { type ProxyServer, serveProxy } from "../support/proxy_server.ts";
import {
  completeModule,
  listFiles,
  moduleFiles,
  SMALL_MODULES,
  tidySmallProject,
} from "../support/small_project.ts";

const PROJECT = await tidySmallProject();
const ALL_FETCHED = /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/;
const VENDOR_MODULES = SMALL_MODULES.map((m) => `# ${m.path} ${m.version}\n## explicit\n`).join(
  "",
);

/** Runs `fn` with a sandbox holding `files` as the project and a proxy serving the modules. */
async function withProject(
  files: Record<string, string | null>,
  fn: (box: Sandbox, proxy: ProxyServer) => Promise<void>,
): Promise<void> {
  const box = await makeSandbox(files);
  const proxy = await serveProxy(box.proxyRoot);
  try {
    await fn(box, proxy);
  } finally {
    await proxy.close();
    await box.remove();
  }
}

function goprefetch(
  box: Sandbox,
  args: string[],
  env: Record<string, string>,
): Promise<CliRun> {
  return runCli(args, { cwd: box.project, env });
}

async function assertAllComplete(gomodcache: string): Promise<void> {
  for (const { path, version } of SMALL_MODULES) {
    assert.deepEqual(await moduleFiles(gomodcache, path, version), completeModule(version), path);
  }
}

Deno.test("cli: a malformed go.sum line exits 2 naming the file and the line number", async () => {
  const lines = PROJECT["go.sum"].split("\n");
  lines.splice(1, 0, "example.com/alpha v1.0.0");
  await withProject({ ...PROJECT, "go.sum": lines.join("\n") }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${join(box.project, "go.sum")}:2:`), r.stderr);
    assert.deepEqual(proxy.requests, []);
  });
});

/** PROJECT's go.sum with a second, bogus h1 line for alpha's zip and go.mod, before or after. */
function conflictingGoSum(bogusFirst: boolean): string {
  const alpha = SMALL_MODULES[0];
  const bogus = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const extra = [
    `${alpha.path} ${alpha.version} ${bogus}`,
    `${alpha.path} ${alpha.version}/go.mod ${bogus}`,
  ];
  const lines = PROJECT["go.sum"].trimEnd().split("\n");
  return (bogusFirst ? [...extra, ...lines] : [...lines, ...extra]).join("\n") + "\n";
}

Deno.test("cli: of conflicting go.sum hashes the first one counts, as go checks them; a later one is warned about", async () => {
  await withProject({ ...PROJECT, "go.sum": conflictingGoSum(false) }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, ALL_FETCHED);
    assert.match(r.stderr, /go\.sum:\d+: example\.com\/alpha v1\.0\.0 has a second h1 hash/);
    assert.match(r.stderr, /go\.sum:\d+: example\.com\/alpha v1\.0\.0\/go\.mod has a second h1/);
    await assertAllComplete(box.gomodcache);
    const build = await runGo(["build", "./..."], {
      cwd: box.project,
      env: box.env("off", { GODEBUG: "cmdgonetlimit=0" }),
    });
    assert.equal(build.code, 0, build.stderr);
  });
});

Deno.test("cli: a wrong hash before the right one fails the module, as it fails go", async () => {
  await withProject({ ...PROJECT, "go.sum": conflictingGoSum(true) }, async (box, proxy) => {
    const go = await runGo(["mod", "download"], { cwd: box.project, env: box.env(proxy.url) });
    assert.notEqual(go.code, 0, "go mod download refuses the module too");
    assert.match(go.stderr, /example\.com\/alpha@v1\.0\.0(\/go\.mod)?: checksum mismatch/);

    const cache = join(box.home, "goprefetch-cache");
    const r = await goprefetch(box, [".", "--continue-on-error"], {
      ...box.env(proxy.url),
      GOMODCACHE: cache,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /example\.com\/alpha@v1\.0\.0: (go\.mod )?checksum mismatch/);
    assert.match(r.stderr, /2 fetched, 0 already cached, 0 skipped \(private\/direct\), 1 failed/);
    const alpha = await listFiles(join(cache, "example.com"));
    assert.ok(!alpha.some((f) => f.startsWith("alpha@")), alpha.join("\n"));
  });
});

Deno.test("cli: no go.sum while go.mod has requirements exits 2 pointing at go mod tidy", async () => {
  await withProject({ ...PROJECT, "go.sum": null }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /go\.sum/);
    assert.match(r.stderr, /go mod tidy/);
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: no go.mod exits 2", async () => {
  await withProject({ "go.sum": PROJECT["go.sum"] }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `goprefetch: No go.mod in ${box.project}: goprefetch needs the directory of a Go module ` +
        "or workspace (or --recursive)\n",
    );
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: a PATH that does not exist, or is a file, is named as such, exit 2", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const env = box.env(proxy.url);
    const missing = join(box.project, "nowhere");
    const goMod = join(box.project, "go.mod");
    const cases: [string[], string][] = [
      [[missing], `goprefetch: ${missing} does not exist\n`],
      [["--recursive", missing], `goprefetch: ${missing} does not exist\n`],
      [["go.mod"], `goprefetch: ${goMod} is a file: PATH is the directory that holds go.mod\n`],
      [
        ["verify", "go.sum"],
        `goprefetch: ${join(box.project, "go.sum")} is a file: ` +
        "PATH is the directory that holds go.mod\n",
      ],
      [["cache-key", missing], `goprefetch: ${missing} does not exist\n`],
    ];
    for (const [args, stderr] of cases) {
      const r = await goprefetch(box, args, env);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.stderr, stderr, args.join(" "));
    }
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: usage errors are one line in goprefetch's words, naming the option, exit 2", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const cases: [string[], string][] = [
      [["--frobnicate", "."], "unknown option --frobnicate (see goprefetch --help)"],
      [["-x"], "unknown option -x (see goprefetch --help)"],
      [["-c", "-3"], '-c must be a whole number from 1 to 1000, got "-3" (see goprefetch --help)'],
      [["-c", "0"], '-c must be a whole number from 1 to 1000, got "0" (see goprefetch --help)'],
      [
        ["--concurrency=many"],
        '--concurrency must be a whole number from 1 to 1000, got "many" (see goprefetch --help)',
      ],
      [
        ["-c", "1001"],
        '-c must be a whole number from 1 to 1000, got "1001" (see goprefetch --help)',
      ],
      [["-c"], "-c needs a value (see goprefetch --help)"],
      [["-c", "-v", "."], "-c needs a value (see goprefetch --help)"],
      [["--proxy="], "--proxy needs a value (see goprefetch --help)"],
      [
        ["--proxy", "not-a-url"],
        '--proxy: invalid proxy URL missing scheme: "not-a-url" (see goprefetch --help)',
      ],
      [["--verbose=yes"], '--verbose takes no value, got "yes" (see goprefetch --help)'],
      [
        ["--retries", "-1"],
        '--retries must be a whole number of at least 0, got "-1" (see goprefetch --help)',
      ],
      [
        ["--stall-timeout", "0"],
        '--stall-timeout must be a number of seconds above 0, got "0" (see goprefetch --help)',
      ],
      [
        ["--toolchain", "1.22"],
        '--toolchain wants a Go toolchain name such as go1.22.3, got "1.22" (see goprefetch --help)',
      ],
      [[".", "."], "one PATH at most, got 2: . . (see goprefetch --help)"],
      [["verify", "--frobnicate"], "unknown option --frobnicate (see goprefetch verify --help)"],
      [["verify", "-c", "4"], "unknown option -c (see goprefetch verify --help)"],
      [["verify", "a", "b"], "one PATH at most, got 2: a b (see goprefetch verify --help)"],
      [["cache-key", "-q"], "unknown option -q (see goprefetch cache-key --help)"],
      [["cache-key", "--toolchain"], "--toolchain needs a value (see goprefetch cache-key --help)"],
      [
        ["cache-key", "--toolchain=latest"],
        '--toolchain wants a Go toolchain name such as go1.22.3, got "latest" ' +
        "(see goprefetch cache-key --help)",
      ],
    ];
    for (const [args, message] of cases) {
      const r = await goprefetch(box, args, box.env(proxy.url));
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.stderr, `goprefetch: ${message}\n`, args.join(" "));
      assert.equal(r.stdout, "");
    }
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: a GOFLAGS go would reject exits 2 with go's message", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url, { GOFLAGS: "mod=vendor" }));
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes('parsing $GOFLAGS: non-flag "mod=vendor"'), r.stderr);
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: --version and --help exit 0", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const version = await goprefetch(box, ["--version"], box.env(proxy.url));
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `goprefetch ${VERSION}\n`);
    for (const flag of ["--help", "-h"]) {
      const help = await goprefetch(box, [flag], box.env(proxy.url));
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Usage: goprefetch \[OPTIONS\] \[PATH\]/);
      assert.match(help.stdout, /--dry-run/);
      assert.match(help.stdout, /--json \[FILE\] .*\n.*--json FILE when FILE ends in \.json/);
    }
    assert.deepEqual(proxy.requests, []);
  });
});

Deno.test("cli: an unknown hash algorithm in go.sum is a warning and the run succeeds", async () => {
  const goSum = PROJECT["go.sum"] + "example.com/alpha v1.0.0 h9:bm90IGEgaGFzaA==\n";
  const line = goSum.split("\n").length - 1;
  await withProject({ ...PROJECT, "go.sum": goSum }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    const warning = r.stderr.split("\n").find((l) => l.includes("warning"));
    assert.ok(warning, r.stderr);
    assert.ok(warning.includes(`go.sum:${line}`), warning);
    assert.match(warning, /unknown hash algorithm/);
    assert.match(r.stderr, ALL_FETCHED);
    await assertAllComplete(box.gomodcache);
  });
});

Deno.test("cli: vendor/modules.txt with go 1.21 in go.mod means nothing to fetch", async () => {
  await withProject({ ...PROJECT, "vendor/modules.txt": VENDOR_MODULES }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing to fetch/);
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(await listFiles(box.gomodcache), []);
  });
});

Deno.test("cli: GOFLAGS=-mod=vendor means nothing to fetch", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url, { GOFLAGS: "-mod=vendor" }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing to fetch/);
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(await listFiles(box.gomodcache), []);
  });
});

Deno.test("cli: GOFLAGS=-mod=mod with a vendor directory fetches", async () => {
  await withProject({ ...PROJECT, "vendor/modules.txt": VENDOR_MODULES }, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url, { GOFLAGS: "-mod=mod" }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, ALL_FETCHED);
    await assertAllComplete(box.gomodcache);
  });
});

Deno.test("cli: a vendor directory with go 1.13 in go.mod is not vendor mode and fetches", async () => {
  const goMod = PROJECT["go.mod"].replace(/^go 1\.21$/m, "go 1.13");
  assert.notEqual(goMod, PROJECT["go.mod"]);
  await withProject(
    { ...PROJECT, "go.mod": goMod, "vendor/modules.txt": VENDOR_MODULES },
    async (box, proxy) => {
      const r = await goprefetch(box, ["."], box.env(proxy.url));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, ALL_FETCHED);
    },
  );
});

Deno.test("cli: a vendor/modules.txt made for a workspace, outside workspace mode, fetches", async () => {
  const files = { ...PROJECT, "vendor/modules.txt": "## workspace\n" + VENDOR_MODULES };
  await withProject(files, async (box, proxy) => {
    const r = await goprefetch(box, ["."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, ALL_FETCHED);
    await assertAllComplete(box.gomodcache);
  });
});

Deno.test("cli: --dry-run lists each module with its files, makes no request, writes nothing", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const r = await goprefetch(box, ["--dry-run", "."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l !== "").sort();
    const expected = SMALL_MODULES.map((m) => `${m.path}@${m.version} info,mod,zip`).sort();
    assert.deepEqual(lines, expected);
    assert.match(r.stderr, /3 to fetch/);
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(await listFiles(box.gomodcache), []);
  });
});

Deno.test("cli: --dry-run on a partly filled cache lists only what is missing", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const full = await goprefetch(box, ["-q", "."], box.env(proxy.url));
    assert.equal(full.code, 0, full.stderr);
    const [alpha, beta] = SMALL_MODULES;
    const atV = (m: { path: string; version: string }) =>
      join(box.gomodcache, "cache/download", escapePath(m.path), "@v", escapeVersion(m.version));
    await Deno.remove(atV(alpha) + ".info");
    await Deno.remove(atV(beta) + ".ziphash");
    proxy.requests.length = 0;
    const before = await snapshotTree(box.gomodcache);
    const r = await goprefetch(box, ["--dry-run", "."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n").filter((l) => l !== "").sort(), [
      `${beta.path}@${beta.version} zip`,
      `${alpha.path}@${alpha.version} info`,
    ]);
    assert.match(r.stderr, /2 to fetch/);
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(diffTrees(before, await snapshotTree(box.gomodcache)), []);
  });
});

Deno.test("cli: -q prints nothing on success", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const r = await goprefetch(box, ["-q", "."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "");
    await assertAllComplete(box.gomodcache);
  });
});

Deno.test("cli: -v prints one line per module", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const r = await goprefetch(box, ["-v", "."], box.env(proxy.url));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n");
    for (const { path, version } of SMALL_MODULES) {
      const mine = lines.filter((l) => l.includes(` ${path}@${version}`));
      assert.equal(mine.length, 1, `${path}@${version}:\n${r.stderr}`);
      assert.match(mine[0], /^fetched /);
    }
    assert.match(r.stderr, /^goprefetch: build list of \d+ modules, \d+ \.info fetched/m);
    assert.match(r.stderr, ALL_FETCHED);
  });
});

Deno.test("cli: GOFLAGS=-modcacherw leaves extracted directories writable, as go does", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const cacheGo = join(box.tmp, "cache-go");
    const extra = { GOFLAGS: "-modcacherw" };
    const download = await runGo(["mod", "download"], {
      cwd: box.project,
      env: { ...box.env(proxy.url, extra), GOMODCACHE: cacheGo },
    });
    assert.equal(download.code, 0, download.stderr);
    const r = await goprefetch(box, ["."], box.env(proxy.url, extra));
    assert.equal(r.code, 0, r.stderr);

    const notLock = (p: string) => p.endsWith(".lock");
    const ours = await snapshotTree(box.gomodcache, { ignore: notLock });
    assert.deepEqual(diffTrees(await snapshotTree(cacheGo, { ignore: notLock }), ours), []);
    const dirMode = 0o777 & ~process.umask();
    const extracted = [...ours.values()].filter((e) => !e.path.startsWith("cache/"));
    assert.ok(extracted.length >= 2 * SMALL_MODULES.length);
    for (const e of extracted) {
      const want = e.kind === "dir" ? dirMode : 0o444;
      assert.equal(e.mode, want, `${e.path}: mode ${e.mode.toString(8)}`);
    }
  });
});

Deno.test("cli: a relative GOMODCACHE exits 2 with go's message", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const env = { ...box.env(proxy.url), GOMODCACHE: "rel/cache" };
    const r = await goprefetch(box, ["."], env);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(
      r.stderr.includes('GOMODCACHE entry is relative; must be absolute path: "rel/cache"'),
      r.stderr,
    );
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(await listFiles(join(box.project, "rel")), []);
  });
});

Deno.test("cli: a relative GOPATH (GOMODCACHE unset) exits 2 with go's message", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const env: Record<string, string> = { ...box.env(proxy.url), GOPATH: "rel" };
    delete env.GOMODCACHE;
    const r = await goprefetch(box, ["."], env);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(
      r.stderr.includes('GOPATH entry is relative; must be absolute path: "rel"'),
      r.stderr,
    );
    assert.deepEqual(proxy.requests, []);
    assert.deepEqual(await listFiles(join(box.project, "rel")), []);
  });
});

Deno.test("cli: GOPROXY set only in the GOENV file is honoured", async () => {
  await withProject(PROJECT, async (box, proxy) => {
    const envFile = join(box.home, "go-env");
    await Deno.writeTextFile(envFile, `# written by go env -w\nGOPROXY=${proxy.url}\n`);
    const env = box.env("unused", { GOENV: envFile });
    delete env.GOPROXY;
    const r = await goprefetch(box, ["."], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, ALL_FETCHED);
    assert.ok(proxy.requests.length >= 3 * SMALL_MODULES.length, proxy.requests.join("\n"));
    await assertAllComplete(box.gomodcache);
  });
});
