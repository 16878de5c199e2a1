/**
 * `--recursive`: the union of the go.sum files of every module under PATH, with module A
 * replacing x by another version and module B replacing y by a local directory. Directories
 * go's `./...` skips (vendor, testdata, `.*`, `_*`) and a GOMODCACHE inside PATH are not
 * searched, and a module go builds from vendor/ is left out. After goprefetch, the go command
 * builds every module offline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, runGo, tempDir } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { goModuleSource, type ModuleSpec, writeProxyTree } from "../support/modules.ts";
import { serveProxy } from "../support/proxy_server.ts";

const OFFLINE = { GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" };

const DEPS: ModuleSpec[] = [
  { path: "example.com/x", version: "v1.0.0" },
  { path: "example.com/x", version: "v1.1.0" },
  { path: "example.com/w", version: "v1.0.0" },
  {
    path: "example.com/z",
    version: "v1.0.0",
    goMod: "module example.com/z\n\ngo 1.21\n\nrequire example.com/x v1.1.0\n",
  },
];

/** Directory → go.mod and the packages its one Go file imports. */
const MODULES: Record<string, { goMod: string; imports: string[] }> = {
  A: {
    goMod: "module example.com/A\n\ngo 1.21\n\nrequire example.com/x v1.0.0\n\n" +
      "replace example.com/x => example.com/x v1.1.0\n",
    imports: ["example.com/x"],
  },
  "B": {
    goMod: "module example.com/B\n\ngo 1.21\n\nrequire (\n\texample.com/y v1.0.0\n" +
      "\texample.com/w v1.0.0\n)\n\nreplace example.com/y => ../local\n",
    imports: ["example.com/y", "example.com/w"],
  },
  local: {
    goMod: "module example.com/y\n\ngo 1.21\n\nrequire example.com/z v1.0.0\n",
    imports: ["example.com/z"],
  },
};

/** Modules in directories goprefetch must not search: their go.sum names a module no proxy has. */
const SKIPPED = ["vendor/v", "testdata/t", ".hidden", "_skip", "B/testdata/t"];
const SENTINEL_SUM = "example.com/never v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

async function writeModule(dir: string, goMod: string, imports: string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "go.mod"), goMod);
  const pkg = goMod.split("\n")[0].split("/").pop()!.toLowerCase();
  const lines = imports.map((p) => `import _ ${JSON.stringify(p)}\n`).join("");
  await Deno.writeTextFile(
    join(dir, `${pkg}.go`),
    goModuleSource(goMod.split("\n")[0].slice(7), pkg).replace("\n// Path", `\n${lines}\n// Path`),
  );
}

Deno.test("recursive: every go.mod under PATH, replacements honoured, skipped dirs unread", async () => {
  const tmp = await tempDir("goprefetch-recursive-");
  const root = join(tmp, "repo");
  await writeProxyTree(join(tmp, "proxy"), DEPS);
  const proxy = await serveProxy(join(tmp, "proxy"));
  try {
    const env = (gomodcache: string, extra: Record<string, string> = {}) =>
      goEnv({ home: tmp, gomodcache, goproxy: proxy.url, extra });
    for (const name of ["local", "A", "B"]) {
      const m = MODULES[name];
      await writeModule(join(root, name), m.goMod, m.imports);
      const tidy = await runGo(["mod", "tidy"], {
        cwd: join(root, name),
        env: env(join(tmp, "cache-tidy")),
      });
      assert.equal(tidy.code, 0, `${name}: ${tidy.stderr}`);
    }
    const sums = await Deno.readTextFile(join(root, "A", "go.sum"));
    assert.doesNotMatch(sums, /example\.com\/x v1\.0\.0/, "tidy records only the replacement");
    for (const dir of [...SKIPPED, "V"]) {
      await writeModule(join(root, dir), "module example.com/skip\n\ngo 1.21\n", []);
      await Deno.writeTextFile(join(root, dir, "go.sum"), SENTINEL_SUM);
    }
    await Deno.mkdir(join(root, "V", "vendor"));
    await Deno.writeTextFile(join(root, "V", "vendor", "modules.txt"), "");

    proxy.requests.length = 0;
    const cache = join(root, "gomodcache");
    const run = await runCli(["--recursive", "--json", "."], { cwd: root, env: env(cache) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );
    const report = JSON.parse(run.stdout);
    assert.equal(report.settings.project, "recursive");
    const sumFiles = ["A", "B", "V", "local"].map((m) => join(root, m, "go.sum"));
    assert.deepEqual(report.settings.sumFiles, sumFiles);
    assert.deepEqual(report.warnings, [
      `${join(root, "V")}: vendor/ is present and go.mod says go 1.21: go builds from vendor/, ` +
      "so its go.sum is left out",
    ]);
    const asked = new Set(proxy.requests.map((r) => r.replace(/\/@v\/.*/, "")));
    assert.deepEqual([...asked].sort(), ["/example.com/w", "/example.com/x", "/example.com/z"]);
    assert.ok(!proxy.requests.some((r) => r.includes("x/@v/v1.0.0")), proxy.requests.join("\n"));

    for (const name of ["A", "B", "local"]) {
      const build = await runGo(["build", "./..."], {
        cwd: join(root, name),
        env: env(cache, OFFLINE),
      });
      assert.equal(build.code, 0, `go build in ${name}:\n${build.stderr}`);
    }

    const verify = await runCli(["verify", "--recursive", "."], {
      cwd: root,
      env: env(cache, OFFLINE),
    });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /3 verified, 1 not in the cache, 0 modified/);

    proxy.requests.length = 0;
    const rerun = await runCli(["--recursive", "."], { cwd: root, env: env(cache) });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /0 fetched, 3 already cached/);
    assert.deepEqual(proxy.requests, []);
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("recursive: no go.mod under PATH exits 2", async () => {
  const tmp = await tempDir("goprefetch-recursive-");
  try {
    await Deno.mkdir(join(tmp, "empty", "_hidden"), { recursive: true });
    await Deno.writeTextFile(join(tmp, "empty", "_hidden", "go.mod"), "module example.com/h\n");
    const env = goEnv({ home: tmp, gomodcache: join(tmp, "cache"), goproxy: "off" });
    const run = await runCli(["--recursive", "empty"], { cwd: tmp, env });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /No go\.mod in .*empty or below it/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
