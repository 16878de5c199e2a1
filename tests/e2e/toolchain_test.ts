import assert from "node:assert/strict";
import { join } from "node:path";
import { testHost } from "../support/host.ts";
import { runPrefetch } from "../../src/engine/prefetch.ts";
import { parseProxyList } from "../../src/goproxy/proxy_list.ts";
import { selectToolchain, toolchainVersion } from "../../src/engine/toolchain.ts";
import { diffTrees, goEnv, makeWritable, runGo, snapshotTree, tempDir } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { fileIdentities } from "../support/go.ts";
import { serveSumDb, type SumDbServer } from "../support/sumdb_server.ts";
import {
  filesUnder,
  ID,
  latestFile,
  mode,
  prefetch,
  sumdbCache,
  VERSION,
  withServer,
} from "../support/toolchain_step.ts";

Deno.test("toolchain selection follows GOTOOLCHAIN, the toolchain line and the go line", () => {
  const mod = "module m\n\ngo 1.21\n\ntoolchain go9.99.0\n";
  assert.equal(selectToolchain({ gotoolchain: "auto", local: "go1.22.3", file: mod }), "go9.99.0");
  assert.equal(selectToolchain({ gotoolchain: "local", local: "go1.22.3", file: mod }), undefined);
  assert.equal(selectToolchain({ gotoolchain: "path", local: "go1.22.3", file: mod }), undefined);
  const go = "module m\n\ngo 1.30\n";
  assert.equal(selectToolchain({ gotoolchain: "auto", local: "go1.22.3", file: go }), "go1.30.0");
  assert.equal(
    selectToolchain({ gotoolchain: "local+auto", local: "go1.31.0", file: go }),
    undefined,
  );
  assert.equal(
    selectToolchain({ gotoolchain: "go1.25.1", local: "go1.22.3", file: go }),
    "go1.25.1",
  );
  assert.equal(
    selectToolchain({ gotoolchain: "go1.25.1+auto", local: "go1.22.3", file: go }),
    "go1.30.0",
  );
  assert.equal(
    selectToolchain({ gotoolchain: "auto", local: "go1.22.3", file: "module m\ngo 1.22\n" }),
    undefined,
  );
});

Deno.test("the toolchain module installs as go does: exec bits, go.mod copies, read-only", async () => {
  await withServer({}, async ({ root, opts }) => {
    const record = await prefetch(opts);
    assert.equal(record.status, "fetched", record.error);
    const atV = join(root, "cache/download/golang.org/toolchain/@v");
    const names = [...Deno.readDirSync(atV)].map((e) => e.name).sort();
    assert.deepEqual(names, [`${VERSION}.lock`, `${VERSION}.zip`, `${VERSION}.ziphash`]);
    const dir = join(root, ID);
    for (const f of ["bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile"]) {
      assert.equal(await mode(join(dir, f)), 0o555, f);
    }
    assert.equal(await mode(join(dir, "lib/wasm/go_js_wasm_exec")), 0o555);
    assert.equal(await mode(join(dir, "lib/time/zoneinfo.zip")), 0o444);
    assert.equal(await mode(join(dir, "src/fmt/print.go")), 0o444);
    assert.equal(await Deno.readTextFile(join(dir, "src/go.mod")), "module std\n\ngo 1.99\n");
    assert.equal(await Deno.readTextFile(join(dir, "src/cmd/go.mod")), "module cmd\n\ngo 1.99\n");
    assert.equal(await mode(join(dir, "src/go.mod")), 0o444);
    for (const d of ["", "bin", "src", "src/cmd", "pkg/tool/linux_amd64"]) {
      assert.equal(await mode(join(dir, d)), 0o555, d);
    }
  });
});

Deno.test("a cached toolchain is checked against the checksum database, and a mismatch fails", async () => {
  await withServer({}, async ({ root, opts }) => {
    assert.equal((await prefetch(opts)).status, "fetched");
    const ziphash = join(root, `cache/download/golang.org/toolchain/@v/${VERSION}.ziphash`);
    const wrong = "h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
    await Deno.writeTextFile(ziphash, wrong);
    const before = await fileIdentities(join(root, ID));
    const record = await prefetch(opts);
    assert.equal(record.status, "failed");
    assert.match(
      record.error!,
      /^golang\.org\/toolchain@v0\.0\.1-go9\.99\.0\.linux-amd64: checksum mismatch: the cached zip has h1:BBBB\S+, the checksum database sumdb\.test has h1:\S+; the cache was left as it is\./,
    );
    assert.equal(await Deno.readTextFile(ziphash), wrong);
    assert.deepEqual(await fileIdentities(join(root, ID)), before);

    await Deno.writeTextFile(ziphash, "garbage\n");
    assert.equal((await prefetch(opts)).status, "cached", "rehashed from the .zip");
    assert.match(await Deno.readTextFile(ziphash), /^h1:\S{44}$/);
  });
});

Deno.test("GOSUMDB=off or empty fails for the toolchain before anything is fetched", async () => {
  await withServer({}, async ({ root, opts, server }) => {
    for (
      const [gosumdb, why] of [["off", "checksum database disabled by GOSUMDB=off"], [
        "",
        "missing GOSUMDB",
      ]]
    ) {
      const record = await prefetch({ ...opts, gosumdb });
      assert.equal(record.status, "failed");
      assert.equal(record.error, `${ID}: verifying module: ${why}`);
    }
    assert.deepEqual(server.requests, []);
    await assert.rejects(Deno.stat(join(root, ID)));
  });
});

Deno.test("GONOSUMDB matching golang.org/toolchain does not skip the checksum database", async () => {
  await withServer({ recordHash: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, async (s) => {
    const record = await prefetch({ ...s.opts, gonosumdb: "golang.org" });
    assert.equal(record.status, "failed");
    assert.match(record.error!, /checksum mismatch/);
  });
});

Deno.test("a single file:// GOPROXY with GOSUMDB=off installs the toolchain unverified, as go does", async () => {
  await withServer({}, async ({ root, opts, server }) => {
    const proxyDir = await tempDir("goprefetch-file-proxy-");
    try {
      const zip = await (await fetch(`${server.url}/golang.org/toolchain/@v/${VERSION}.zip`))
        .bytes();
      await Deno.mkdir(join(proxyDir, "golang.org/toolchain/@v"), { recursive: true });
      await Deno.writeFile(join(proxyDir, `golang.org/toolchain/@v/${VERSION}.zip`), zip);
      const goproxy = `file://${proxyDir}`;
      const seen = server.requests.length;
      const record = await prefetch({
        ...opts,
        gosumdb: "off",
        goproxy,
        proxies: parseProxyList(goproxy, ""),
      });
      assert.equal(record.status, "fetched", record.error);
      assert.equal(await mode(join(root, ID, "bin/go")), 0o555);
      assert.equal(
        await Deno.readTextFile(
          join(root, `cache/download/golang.org/toolchain/@v/${VERSION}.ziphash`),
        ),
        server.h1,
      );
      assert.deepEqual(server.requests.slice(seen), []);
      await assert.rejects(Deno.stat(sumdbCache(root)));
    } finally {
      await Deno.remove(proxyDir, { recursive: true });
    }
  });
});

interface Sandbox {
  tmp: string;
  project: string;
  gomodcache: string;
  gopath: string;
  env: Record<string, string>;
  server: SumDbServer;
}

/**
 * A module whose go.mod says `toolchain go9.99.0`, a fake local go1.22.0 GOROOT for
 * linux/amd64, and an environment pointing at the test proxy and checksum database, with
 * `-modcacherw` set (which the toolchain install must ignore).
 */
async function withProject(
  gotoolchain: string,
  body: (sandbox: Sandbox) => Promise<void>,
): Promise<void> {
  const server = await serveSumDb({ version: VERSION });
  const tmp = await tempDir("goprefetch-toolchain-project-");
  try {
    const project = join(tmp, "m");
    const goroot = join(tmp, "goroot");
    await Deno.mkdir(project);
    await Deno.mkdir(join(goroot, "pkg", "tool", "linux_amd64"), { recursive: true });
    await Deno.writeTextFile(join(goroot, "VERSION"), "go1.22.0\ntime 2024-02-06T17:36:32Z\n");
    await Deno.writeTextFile(
      join(project, "go.mod"),
      "module example.com/m\n\ngo 1.21\n\ntoolchain go9.99.0\n",
    );
    await Deno.writeTextFile(join(project, "go.sum"), "");
    const gomodcache = join(tmp, "modcache");
    const gopath = join(tmp, "gopath");
    const env = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: tmp,
      GOENV: "off",
      GOROOT: goroot,
      GOPATH: `${gopath}:${join(tmp, "second")}`,
      GOMODCACHE: gomodcache,
      GOPROXY: server.url,
      GOSUMDB: server.gosumdb,
      GOTOOLCHAIN: gotoolchain,
      GOFLAGS: "-modcacherw",
    };
    await body({ tmp, project, gomodcache, gopath, env, server });
  } finally {
    await server.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

const toolchainDir = (gomodcache: string) => join(gomodcache, ID);

Deno.test("a go.mod toolchain line newer than the local go fetches it under GOTOOLCHAIN=auto", async () => {
  await withProject("auto", async ({ tmp, project, gomodcache, gopath, env }) => {
    const report = await runPrefetch({}, testHost(env, project));
    assert.deepEqual(
      report.modules.map((m) => [m.path, m.version, m.status, m.error]),
      [["golang.org/toolchain", VERSION, "fetched", undefined]],
    );
    assert.equal(await mode(join(toolchainDir(gomodcache), "bin/go")), 0o555);
    assert.equal(await mode(toolchainDir(gomodcache)), 0o555, "read-only despite -modcacherw");
    assert.ok((await Deno.readTextFile(latestFile(join(gopath, "pkg/sumdb")))).length > 0);
    await assert.rejects(Deno.stat(join(tmp, "second")), "only the first GOPATH entry");
  });
});

Deno.test("a module that fails stops the run but not the toolchain, which shares its client and pool", async () => {
  await withProject("auto", async ({ project, gomodcache, env }) => {
    const goMod = `h1:${"A".repeat(43)}=`;
    await Deno.writeTextFile(join(project, "go.sum"), `example.com/gone v1.0.0/go.mod ${goMod}\n`);
    const events: string[] = [];
    const report = await runPrefetch({
      concurrency: 1,
      onProgress: (e) => {
        if (e.type === "plan") events.push(`plan ${e.total}`);
        if (e.type === "module") events.push(`${e.record.path} ${e.record.status}`);
      },
    }, testHost(env, project));
    assert.deepEqual(report.modules.map((m) => [m.path, m.status]), [
      ["example.com/gone", "failed"],
      ["golang.org/toolchain", "fetched"],
    ]);
    assert.match(
      report.modules[0].error!,
      /^example\.com\/gone@v1\.0\.0: http:\/\/127\.0\.0\.1:\d+: 404/,
    );
    assert.deepEqual(events, [
      "plan 2",
      "example.com/gone failed",
      "golang.org/toolchain fetched",
    ], "the plan counts the toolchain, as the progress line shows it");
    assert.equal(await mode(join(toolchainDir(gomodcache), "bin/go")), 0o555);
  });
});

Deno.test("GOTOOLCHAIN=local fetches no toolchain", async () => {
  await withProject("local", async ({ project, gomodcache, env }) => {
    const report = await runPrefetch({}, testHost(env, project));
    assert.deepEqual(report.modules, []);
    await assert.rejects(Deno.stat(toolchainDir(gomodcache)));
  });
});

Deno.test("--toolchain forces the toolchain even under GOTOOLCHAIN=local", async () => {
  await withProject("local", async ({ project, gomodcache, env }) => {
    const run = await runCli(["--json", "--toolchain", "go9.99.0"], { cwd: project, env });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(
      report.modules.map((m: { path: string; status: string }) => [m.path, m.status]),
      [["golang.org/toolchain", "fetched"]],
    );
    assert.equal(await mode(join(toolchainDir(gomodcache), "pkg/tool/linux_amd64/compile")), 0o555);
    const bad = await runCli(["--toolchain", "1.22"], { cwd: project, env });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--toolchain wants a Go toolchain name such as go1\.22\.3, got "1\.22"/,
    );
  });
});

Deno.test("GOSUMDB=off makes the toolchain fail in the report, with go's sentence", async () => {
  await withProject("auto", async ({ project, gomodcache, env }) => {
    const report = await runPrefetch({}, testHost({ ...env, GOSUMDB: "off" }, project));
    assert.deepEqual(
      report.modules.map((m) => [m.status, m.error]),
      [["failed", `${ID}: verifying module: checksum database disabled by GOSUMDB=off`]],
    );
    await assert.rejects(Deno.stat(toolchainDir(gomodcache)));
  });
});

/** The real go's GOOS, GOARCH and GOROOT. */
async function realGo(): Promise<{ goos: string; goarch: string; goroot: string }> {
  const out = await new Deno.Command("go", { args: ["env", "GOOS", "GOARCH", "GOROOT"] }).output();
  const [goos, goarch, goroot] = new TextDecoder().decode(out.stdout).trim().split("\n");
  return { goos, goarch, goroot };
}

Deno.test("oracle: the real go switches offline to the toolchain goprefetch fetched, and writes the same sumdb files", async () => {
  const { goos, goarch, goroot } = await realGo();
  const version = toolchainVersion("go1.99.1", goos, goarch);
  // Three levels of tiles, each with a partial tile, the record under full ones.
  const server = await serveSumDb({ version, records: 70_000, recordId: 12_345 });
  const tmp = await tempDir("goprefetch-toolchain-oracle-");
  try {
    const project = join(tmp, "m");
    await Deno.mkdir(project);
    await Deno.writeTextFile(join(project, "go.mod"), "module example.com/m\n\ngo 1.99.1\n");
    await Deno.writeTextFile(join(project, "go.sum"), "");
    const env = (name: string, extra: Record<string, string>) => {
      const home = join(tmp, name);
      return goEnv({
        home,
        gomodcache: join(home, "modcache"),
        goproxy: server.url,
        extra: { GOROOT: goroot, GOSUMDB: server.gosumdb, GOTOOLCHAIN: "auto", ...extra },
      });
    };

    const ours = env("goprefetch", {});
    const report = await runPrefetch({}, testHost(ours, project));
    assert.deepEqual(
      report.modules.map((m) => [m.path, m.version, m.status, m.error]),
      [["golang.org/toolchain", version, "fetched", undefined]],
    );
    const written = async () =>
      new Map([
        ...await fileIdentities(ours.GOMODCACHE),
        ...[...await fileIdentities(ours.GOPATH)].map(([k, v]) => [`gopath/${k}`, v] as const),
      ]);
    const before = await written();
    const seen = server.requests.length;
    const offline = await runGo(["version"], { cwd: project, env: { ...ours, GOPROXY: "off" } });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, `go version go1.99.1 linux/amd64\n`);
    assert.deepEqual(server.requests.slice(seen), [], "no network");
    assert.deepEqual(await written(), before, "go rewrote nothing goprefetch wrote");
    const unchecked = await runGo(["version"], {
      cwd: project,
      env: { ...ours, GOPROXY: "off", GOSUMDB: "off" },
    });
    assert.notEqual(unchecked.code, 0, "go does check a cached toolchain against the sumdb");
    assert.match(unchecked.stderr, /verifying module: checksum database disabled by GOSUMDB=off/);

    const theirs = env("go", {});
    const goStart = server.requests.length;
    const online = await runGo(["version"], { cwd: project, env: theirs });
    assert.equal(online.code, 0, online.stderr);
    assert.ok(server.requests.slice(goStart).includes("/sumdb/sumdb.test/tile/8/2/000.p/1"));
    assert.equal(online.stdout, `go version go1.99.1 linux/amd64\n`);
    for (const [a, b] of [[theirs.GOMODCACHE, ours.GOMODCACHE], [theirs.GOPATH, ours.GOPATH]]) {
      assert.deepEqual(diffTrees(await snapshotTree(a), await snapshotTree(b)), [], a);
    }
    assert.ok((await filesUnder(join(theirs.GOPATH, "pkg/sumdb"))).includes("sumdb.test/latest"));
    const requests = server.requests.length;
    const onGos = await runPrefetch({}, testHost({ ...theirs, GOPROXY: "off" }, project));
    assert.deepEqual(onGos.modules.map((m) => [m.status, m.error]), [["cached", undefined]]);
    assert.equal(server.requests.length, requests, "go's sumdb cache answers goprefetch too");
  } finally {
    await server.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
});
