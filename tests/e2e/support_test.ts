import assert from "node:assert/strict";
import { join } from "node:path";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { removeTree } from "../../src/util/files.ts";
import {
  diffTrees,
  goEnv,
  makeMainModule,
  runGo,
  snapshotTree,
  tempDir,
  type TreeEntry,
} from "../support/go.ts";
import {
  goModuleSource,
  type ModuleSpec,
  STANDARD_IMPORTS,
  STANDARD_REQUIRES,
  standardModuleSet,
  writeProxyTree,
} from "../support/modules.ts";
import { needing, ptyCommand, verdict } from "../support/platform.ts";
import { serveProxy } from "../support/proxy_server.ts";

Deno.test("the go command downloads and builds the standard module set from the local proxy", async () => {
  const tmp = await tempDir("goprefetch-support-");
  const proxyRoot = join(tmp, "proxy");
  const main = join(tmp, "main");
  const cacheA = join(tmp, "cache-a");
  await Deno.mkdir(main);
  const modules = standardModuleSet();
  await writeProxyTree(proxyRoot, modules);
  const proxy = await serveProxy(proxyRoot);
  try {
    const env = (gomodcache: string) => goEnv({ home: tmp, gomodcache, goproxy: proxy.url });
    await makeMainModule(main, {
      requires: STANDARD_REQUIRES,
      imports: STANDARD_IMPORTS,
      env: env(join(tmp, "cache-tidy")),
    });
    const goSum = await Deno.readTextFile(join(main, "go.sum"));
    assert.match(goSum, /^example\.com\/deep v0\.1\.0\/go\.mod h1:/m);
    assert.doesNotMatch(goSum, /^example\.com\/deep v0\.1\.0 h1:/m);
    for (const { path, version } of STANDARD_REQUIRES) {
      assert.ok(goSum.includes(`${path} ${version} h1:`), `go.sum lacks ${path} ${version}`);
    }

    proxy.requests.length = 0;
    const download = await runGo(["mod", "download"], { cwd: main, env: env(cacheA) });
    assert.equal(download.code, 0, download.stderr);
    assert.ok(proxy.requests.includes("/example.com/!upper/@v/v1.0.0-!r!c1.zip"));
    assert.ok(proxy.requests.includes("/example.com/deep/@v/v0.1.0.mod"));

    const before = await snapshotTree(cacheA);
    const build = await runGo(["build", "./..."], {
      cwd: main,
      env: { ...env(cacheA), GOPROXY: "off" },
    });
    assert.equal(build.code, 0, build.stderr);
    assert.deepEqual(diffTrees(before, await snapshotTree(cacheA)), []);
    const verify = await runGo(["mod", "verify"], {
      cwd: main,
      env: { ...env(cacheA), GOPROXY: "off" },
    });
    assert.equal(verify.code, 0, verify.stderr);

    assertExtractedReadOnly(before, modules);
    await assertZipsAsServed(before, proxyRoot);
  } finally {
    await proxy.close();
    removeTree(tmp);
  }
});

/** Every module but the go.mod-only one is extracted with 0444 files and 0555 directories. */
function assertExtractedReadOnly(tree: Map<string, TreeEntry>, modules: ModuleSpec[]): void {
  const extracted = [...tree.values()].filter((e) => !e.path.startsWith("cache/"));
  for (const { path, version } of STANDARD_REQUIRES) {
    const spec = modules.find((m) => m.path === path && m.version === version);
    assert.ok(spec);
    const root = `${escapePath(path)}@${escapeVersion(version)}`;
    assert.equal(tree.get(root)?.kind, "dir", `${root} not extracted`);
    for (const name of Object.keys(spec.files ?? {})) {
      assert.equal(tree.get(`${root}/${name}`)?.kind, "file", `${root}/${name} missing`);
    }
  }
  const moduleEntries = extracted.filter((e) => e.path.includes("@"));
  assert.ok(moduleEntries.length > 300);
  for (const e of moduleEntries) {
    assert.equal(e.mode, e.kind === "dir" ? 0o555 : 0o444, `${e.path} mode ${e.mode.toString(8)}`);
  }
  assert.ok(!tree.has("example.com/deep@v0.1.0"));
}

/** The cached zips are byte-identical to what the proxy served. */
async function assertZipsAsServed(
  tree: Map<string, TreeEntry>,
  proxyRoot: string,
): Promise<void> {
  const prefix = "cache/download/";
  const zips = [...tree.values()].filter((e) => e.path.endsWith(".zip"));
  assert.equal(zips.length, STANDARD_REQUIRES.length);
  const served = await snapshotTree(proxyRoot);
  for (const zip of zips) {
    assert.equal(served.get(zip.path.slice(prefix.length))?.sha256, zip.sha256, zip.path);
  }
}

Deno.test("directoryEntries are extracted by go but make go mod verify fail", async () => {
  const tmp = await tempDir("goprefetch-support-");
  const path = "example.com/dirs";
  await writeProxyTree(join(tmp, "proxy"), [{
    path,
    version: "v1.0.0",
    directoryEntries: true,
    files: {
      "dirs.go": goModuleSource(path, "dirs"),
      "sub/deeper/deeper.go": goModuleSource(`${path}/sub/deeper`, "deeper"),
    },
  }]);
  const proxy = await serveProxy(join(tmp, "proxy"));
  try {
    const main = join(tmp, "main");
    const cache = join(tmp, "cache");
    await Deno.mkdir(main);
    const env = goEnv({ home: tmp, gomodcache: cache, goproxy: proxy.url });
    await makeMainModule(main, {
      requires: [{ path, version: "v1.0.0" }],
      imports: [`${path}/sub/deeper`],
      env,
    });
    const verify = await runGo(["mod", "verify"], { cwd: main, env });
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /example\.com\/dirs v1\.0\.0: dir has been modified/);
    const tree = await snapshotTree(join(cache, "example.com/dirs@v1.0.0"));
    assert.deepEqual([...tree.values()].map((e) => `${e.kind} ${e.mode.toString(8)} ${e.path}`), [
      "file 444 dirs.go",
      "file 444 go.mod",
      "dir 555 sub",
      "dir 555 sub/deeper",
      "file 444 sub/deeper/deeper.go",
    ]);
  } finally {
    await proxy.close();
    removeTree(tmp);
  }
});

Deno.test("standardModuleSet publishes identical bytes every time", async () => {
  const tmp = await tempDir("goprefetch-support-");
  try {
    await writeProxyTree(join(tmp, "a"), standardModuleSet());
    await writeProxyTree(join(tmp, "b"), standardModuleSet());
    const a = await snapshotTree(join(tmp, "a"));
    assert.equal(a.get("example.com/!upper/@v/list")?.kind, "file");
    assert.deepEqual(diffTrees(a, await snapshotTree(join(tmp, "b"))), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("serveProxy decodes %21, answers 404 and applies faults", async () => {
  const tmp = await tempDir("goprefetch-support-");
  await writeProxyTree(tmp, [{ path: "example.com/Upper", version: "v1.0.0-RC1" }]);
  const proxy = await serveProxy(tmp, {
    fault: (_req, path) =>
      path.endsWith("/list") ? new Response("boom", { status: 500 }) : undefined,
  });
  try {
    const base = `${proxy.url}/example.com/%21upper/@v`;
    const info = await fetch(`${base}/v1.0.0-%21r%21c1.info`);
    assert.equal(info.status, 200);
    assert.equal(info.headers.get("content-type"), "application/json");
    assert.deepEqual(await info.json(), { Version: "v1.0.0-RC1", Time: "2024-01-02T03:04:05Z" });
    const mod = await fetch(`${base}/v1.0.0-%21r%21c1.mod`);
    assert.equal(await mod.text(), "module example.com/Upper\n\ngo 1.21\n");
    const zip = await fetch(`${base}/v1.0.0-%21r%21c1.zip`);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    assert.equal(new Uint8Array(await zip.arrayBuffer()).slice(0, 2).toHex(), "504b");
    const missing = await fetch(`${base}/v9.9.9.info`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "not found\n");
    const list = await fetch(`${base}/list`);
    assert.equal(list.status, 500);
    await list.body?.cancel();
    assert.deepEqual(proxy.requests, [
      "/example.com/!upper/@v/v1.0.0-!r!c1.info",
      "/example.com/!upper/@v/v1.0.0-!r!c1.mod",
      "/example.com/!upper/@v/v1.0.0-!r!c1.zip",
      "/example.com/!upper/@v/v9.9.9.info",
      "/example.com/!upper/@v/list",
    ]);
  } finally {
    await proxy.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("makeMainModule reports go's stderr when tidy fails", async () => {
  const tmp = await tempDir("goprefetch-support-");
  const proxy = await serveProxy(tmp);
  try {
    const env = goEnv({ home: tmp, gomodcache: join(tmp, "cache"), goproxy: proxy.url });
    await assert.rejects(
      makeMainModule(tmp, {
        requires: [{ path: "example.com/absent", version: "v1.0.0" }],
        imports: ["example.com/absent"],
        env,
      }),
      /go mod tidy failed[^]*example\.com\/absent[^]*404/,
    );
  } finally {
    await proxy.close();
    removeTree(tmp);
  }
});

Deno.test("diffTrees reports missing entries, kinds, modes and contents", () => {
  const tree = (...entries: TreeEntry[]) => new Map(entries.map((e) => [e.path, e]));
  const a = tree(
    { path: "d", kind: "dir", mode: 0o555 },
    { path: "d/f", kind: "file", mode: 0o444, sha256: "aa" },
    { path: "g", kind: "file", mode: 0o644, sha256: "bb" },
    { path: "x", kind: "file", mode: 0o644, sha256: "cc" },
  );
  const b = tree(
    { path: "d", kind: "dir", mode: 0o755 },
    { path: "d/f", kind: "file", mode: 0o444, sha256: "ab" },
    { path: "g", kind: "dir", mode: 0o755 },
    { path: "y", kind: "file", mode: 0o644, sha256: "cc" },
  );
  assert.deepEqual(diffTrees(a, a), []);
  assert.deepEqual(diffTrees(a, b), [
    "d: mode 0555 in a, 0755 in b",
    "d/f: contents differ",
    "g: file in a, dir in b",
    "x: only in a (file)",
    "y: only in b (file)",
  ]);
});

Deno.test("platform: a missing mechanism fails on Linux under CI=true, and is skipped elsewhere", () => {
  assert.equal(verdict(true, "linux", "true"), "run");
  assert.equal(verdict(true, "darwin", undefined), "run");
  assert.equal(verdict(false, "linux", "true"), "fail");
  assert.equal(verdict(false, "linux", undefined), "skip");
  assert.equal(verdict(false, "linux", "false"), "skip");
  assert.equal(verdict(false, "darwin", "true"), "skip");
});

Deno.test(needing("pseudo-terminal", {
  name: "platform: ptyCommand runs a shell command on a terminal, keeping its output and status",
  fn: async () => {
    const [program, ...args] = ptyCommand(
      "test -t 0 && test -t 1 && test -t 2 && echo tty; exit 3",
    );
    const out = await new Deno.Command(program, { args, stdin: "null", stdout: "piped" }).output();
    assert.equal(out.code, 3);
    assert.equal(new TextDecoder().decode(out.stdout), "tty\r\n");
  },
}));
