import assert from "node:assert/strict";
import { testHost } from "./support/host.ts";
import { join } from "node:path";
import { runPrefetch } from "../src/prefetch.ts";
import { parseProxyList } from "../src/proxy_list.ts";
import { parseGoSumDb } from "../src/sumdb.ts";
import {
  prefetchToolchain,
  selectToolchain,
  type ToolchainOptions,
  toolchainVersion,
} from "../src/toolchain.ts";
import { makeWritable, tempDir } from "./support/go.ts";
import { runGoprefetch } from "./support/goprefetch.ts";
import { serveSumDb, type SumDbServerOptions } from "./support/sumdb_server.ts";

const VERSION = toolchainVersion("go9.99.0", "linux", "amd64");

async function withServer(
  options: Partial<SumDbServerOptions>,
  body: (root: string, opts: ToolchainOptions) => Promise<void>,
): Promise<void> {
  const server = await serveSumDb({ version: VERSION, ...options });
  const root = await tempDir("goprefetch-toolchain-");
  try {
    await body(root, {
      root,
      version: VERSION,
      gosumdb: server.gosumdb,
      proxies: parseProxyList(server.url, ""),
      umask: 0o022,
      retries: 0,
      stallTimeoutMs: 10_000,
      memoryBudget: 1 << 20,
      dryRun: false,
    });
  } finally {
    await server.close();
    await makeWritable(root);
    await Deno.remove(root, { recursive: true });
  }
}

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

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

Deno.test("GOSUMDB names resolve to verifier keys as go's dbDial does", () => {
  assert.equal(parseGoSumDb("sum.golang.org").name, "sum.golang.org");
  assert.equal(parseGoSumDb("sum.golang.google.cn").url, "https://sum.golang.google.cn");
  assert.throws(() => parseGoSumDb("off"), /checksum database disabled by GOSUMDB=off/);
  assert.throws(() => parseGoSumDb("sum.example.com"), /no key/);
});

Deno.test("the toolchain module installs as go does: exec bits, go.mod copies, read-only", async () => {
  await withServer({}, async (root, opts) => {
    const record = await prefetchToolchain(opts);
    assert.equal(record.status, "fetched", record.error);
    const atV = join(root, "cache/download/golang.org/toolchain/@v");
    const names = [...Deno.readDirSync(atV)].map((e) => e.name).sort();
    assert.deepEqual(names, [`${VERSION}.lock`, `${VERSION}.zip`, `${VERSION}.ziphash`]);
    const dir = join(root, `golang.org/toolchain@${VERSION}`);
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
    assert.equal((await prefetchToolchain(opts)).status, "cached");
  });
});

async function assertNothingInstalled(root: string): Promise<void> {
  const atV = join(root, "cache/download/golang.org/toolchain/@v");
  const names = [...Deno.readDirSync(atV)].map((e) => e.name);
  assert.deepEqual(names.filter((n) => !n.endsWith(".lock")), []);
  await assert.rejects(Deno.stat(join(root, `golang.org/toolchain@${VERSION}`)));
}

Deno.test("a tree note signed with another key fails and installs nothing", async () => {
  await withServer({ badSignature: true }, async (root, opts) => {
    const record = await prefetchToolchain(opts);
    assert.equal(record.status, "failed");
    assert.equal(
      record.error,
      `golang.org/toolchain@${VERSION}: verifying module: sumdb.test: ` +
        "invalid signature by sumdb.test on the signed tree note",
    );
    await assertNothingInstalled(root);
  });
});

Deno.test("a record hash unlike the zip's h1 fails and installs nothing", async () => {
  const wrong = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  await withServer({ recordHash: wrong }, async (root, opts) => {
    const record = await prefetchToolchain(opts);
    assert.equal(record.status, "failed");
    assert.match(
      record.error!,
      /^golang\.org\/toolchain@v0\.0\.1-go9\.99\.0\.linux-amd64: checksum mismatch: the downloaded zip has h1:\S+, the checksum database sumdb\.test has h1:AAAA/,
    );
    await assertNothingInstalled(root);
  });
});

interface Sandbox {
  project: string;
  gomodcache: string;
  env: Record<string, string>;
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
    const env = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: tmp,
      GOENV: "off",
      GOROOT: goroot,
      GOPATH: join(tmp, "gopath"),
      GOMODCACHE: gomodcache,
      GOPROXY: server.url,
      GOSUMDB: server.gosumdb,
      GOTOOLCHAIN: gotoolchain,
      GOFLAGS: "-modcacherw",
    };
    await body({ project, gomodcache, env });
  } finally {
    await server.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

const toolchainDir = (gomodcache: string) => join(gomodcache, `golang.org/toolchain@${VERSION}`);

Deno.test("a go.mod toolchain line newer than the local go fetches it under GOTOOLCHAIN=auto", async () => {
  await withProject("auto", async ({ project, gomodcache, env }) => {
    const report = await runPrefetch({}, testHost(env, project));
    assert.deepEqual(
      report.modules.map((m) => [m.path, m.version, m.status, m.error]),
      [["golang.org/toolchain", VERSION, "fetched", undefined]],
    );
    assert.equal(await mode(join(toolchainDir(gomodcache), "bin/go")), 0o555);
    assert.equal(await mode(toolchainDir(gomodcache)), 0o555, "read-only despite -modcacherw");
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
    const run = await runGoprefetch(["--json", "--toolchain", "go9.99.0"], { cwd: project, env });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(
      report.modules.map((m: { path: string; status: string }) => [m.path, m.status]),
      [["golang.org/toolchain", "fetched"]],
    );
    assert.equal(await mode(join(toolchainDir(gomodcache), "pkg/tool/linux_amd64/compile")), 0o555);
    const bad = await runGoprefetch(["--toolchain", "1.22"], { cwd: project, env });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--toolchain wants a Go toolchain name such as go1\.22\.3, got "1\.22"/,
    );
  });
});
