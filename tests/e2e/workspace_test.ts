/**
 * Workspaces end to end: a go.work using three modules, each with its own dependencies from
 * a local proxy, and a go.work.sum holding the one sum only the workspace needs. After
 * goprefetch, the go command builds every module offline; GOWORK=off narrows the run to one
 * module's go.sum.
 */
import { withProxyProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runGo } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { goModuleSource, type ModuleSpec } from "../support/modules.ts";

const OFFLINE = { GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" };

/** x at two versions; z requires the newer x, so the workspace selects x v1.1.0. */
const DEPS: ModuleSpec[] = [
  { path: "example.com/x", version: "v1.0.0" },
  { path: "example.com/x", version: "v1.1.0" },
  {
    path: "example.com/z",
    version: "v1.0.0",
    goMod: "module example.com/z\n\ngo 1.21\n\nrequire example.com/x v1.1.0\n",
  },
  { path: "example.com/y", version: "v1.0.0" },
];

/** Workspace module name → the dependency it requires and imports. */
const MEMBERS: Record<string, { path: string; version: string }> = {
  a: { path: "example.com/x", version: "v1.0.0" },
  b: { path: "example.com/z", version: "v1.0.0" },
  c: { path: "example.com/y", version: "v1.0.0" },
};

const GO_WORK = `go 1.21

use (
\t./a
\t"./b" // quoted, with a comment
)

use ./c
`;

async function writeMember(dir: string, name: string, dep: { path: string; version: string }) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    `module example.com/ws/${name}\n\ngo 1.21\n\nrequire ${dep.path} ${dep.version}\n`,
  );
  await Deno.writeTextFile(
    join(dir, `${name}.go`),
    goModuleSource(`example.com/ws/${name}`, name).replace(
      "\n// Path",
      `\nimport _ ${JSON.stringify(dep.path)}\n\n// Path`,
    ),
  );
}

/** Writes the workspace in `ws`: each member, tidied by go with `env`, and go.work. */
async function writeWorkspace(ws: string, env: Record<string, string>): Promise<void> {
  for (const [name, dep] of Object.entries(MEMBERS)) {
    await writeMember(join(ws, name), name, dep);
    const tidy = await runGo(["mod", "tidy"], { cwd: join(ws, name), env });
    assert.equal(tidy.code, 0, tidy.stderr);
  }
  await Deno.writeTextFile(join(ws, "go.work"), GO_WORK);
}

Deno.test("workspace: every used module's go.sum and go.work.sum are fetched; go builds offline", async () => {
  await withProxyProject("goprefetch-workspace-", DEPS, async ({ tmp, proxy, env }) => {
    const ws = join(tmp, "ws");
    const tidyCache = join(tmp, "cache-tidy");
    await writeWorkspace(ws, env(tidyCache));
    const auto = (gomodcache: string, extra: Record<string, string> = {}) => {
      const e = env(gomodcache, extra);
      delete e.GOWORK;
      return e;
    };
    const download = await runGo(["mod", "download"], { cwd: ws, env: auto(tidyCache) });
    assert.equal(download.code, 0, download.stderr);
    const workSum = await Deno.readTextFile(join(ws, "go.work.sum"));
    assert.match(workSum, /^example\.com\/x v1\.1\.0 h1:/m, "go put x v1.1.0 in go.work.sum");

    proxy.requests.length = 0;
    const cache = join(tmp, "cache");
    const run = await runCli(["--json", "."], { cwd: join(ws, "a"), env: auto(cache) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /4 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );
    const settings = JSON.parse(run.stdout).settings;
    assert.equal(settings.project, "workspace");
    assert.equal(settings.workFile, join(ws, "go.work"));
    assert.deepEqual(settings.sumFiles, [
      ...Object.keys(MEMBERS).map((m) => join(ws, m, "go.sum")),
      join(ws, "go.work.sum"),
    ]);
    assert.ok(proxy.requests.includes("/example.com/x/@v/v1.1.0.zip"), proxy.requests.join("\n"));

    for (const name of Object.keys(MEMBERS)) {
      const build = await runGo(["build", "./..."], {
        cwd: join(ws, name),
        env: auto(cache, OFFLINE),
      });
      assert.equal(build.code, 0, `go build in ${name}:\n${build.stderr}`);
    }
    const verify = await runGo(["mod", "verify"], { cwd: ws, env: auto(cache, OFFLINE) });
    assert.equal(verify.code, 0, verify.stderr);
    const ours = await runCli(["verify"], { cwd: ws, env: auto(cache, OFFLINE) });
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stderr, /4 verified, 0 not in the cache, 0 modified/);
  });
});

Deno.test("workspace: GOWORK=off takes only the module's own go.sum", async () => {
  await withProxyProject("goprefetch-workspace-", DEPS, async ({ tmp, proxy, env }) => {
    const ws = join(tmp, "ws");
    await writeWorkspace(ws, env(join(tmp, "cache-tidy")));
    await Deno.writeTextFile(join(ws, "go.work.sum"), "example.com/not/fetched v1.0.0 h1:x=\n");

    proxy.requests.length = 0;
    const cache = join(tmp, "cache");
    const run = await runCli(["."], {
      cwd: join(ws, "a"),
      env: env(cache, { GOWORK: "off" }),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /1 fetched, 0 already cached/);
    assert.deepEqual(
      [...new Set(proxy.requests.map((r) => r.replace(/\.(info|mod|zip)$/, "")))],
      ["/example.com/x/@v/v1.0.0"],
    );
    const build = await runGo(["build", "./..."], {
      cwd: join(ws, "a"),
      env: env(cache, { ...OFFLINE, GOWORK: "off" }),
    });
    assert.equal(build.code, 0, build.stderr);
  });
});

Deno.test("workspace: go.sum files that disagree about a module make go fail, and goprefetch leaves it out", async () => {
  await withProxyProject("goprefetch-workspace-", DEPS, async ({ tmp, proxy, env }) => {
    const ws = join(tmp, "ws");
    await writeWorkspace(ws, env(join(tmp, "cache-tidy")));
    const bogus = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    await Deno.writeTextFile(
      join(ws, "a", "go.sum"),
      `example.com/y v1.0.0 ${bogus}\n`,
      { append: true },
    );
    const auto = (gomodcache: string) => {
      const e = env(gomodcache);
      delete e.GOWORK;
      return e;
    };
    const go = await runGo(["build", "./..."], { cwd: join(ws, "c"), env: auto(join(tmp, "go")) });
    assert.notEqual(go.code, 0, "go refuses y whatever the proxy serves");
    assert.match(go.stderr, /example\.com\/y@v1\.0\.0: checksum mismatch/);

    proxy.requests.length = 0;
    const run = await runCli(["."], { cwd: ws, env: auto(join(tmp, "cache")) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /example\.com\/y v1\.0\.0: the workspace's go\.sum files disagree \(.*a\/go\.sum h1:A+=, .*c\/go\.sum h1:/,
    );
    assert.ok(!proxy.requests.includes("/example.com/y/@v/v1.0.0.zip"), proxy.requests.join("\n"));
    assert.ok(proxy.requests.includes("/example.com/x/@v/v1.0.0.zip"), proxy.requests.join("\n"));
  });
});
