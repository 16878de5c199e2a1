import assert from "node:assert/strict";
import process from "node:process";
import { join } from "node:path";
import { testHost } from "../support/host.ts";
import { runPrefetch } from "../../src/engine/prefetch.ts";
import { InstallPool } from "../../src/cache/install_pool.ts";
import type { ModuleRecord } from "../../src/engine/report.ts";
import { ProxyClient } from "../../src/goproxy/goproxy.ts";
import { parseProxyList } from "../../src/goproxy/proxy_list.ts";
import { MemoryBudget } from "../../src/util/semaphore.ts";
import { parseGoSumDb, useSumDb } from "../../src/sumdb/sumdb.ts";
import {
  prefetchToolchain,
  selectToolchain,
  type ToolchainOptions,
  toolchainVersion,
} from "../../src/engine/toolchain.ts";
import { diffTrees, goEnv, makeWritable, runGo, snapshotTree, tempDir } from "../support/go.ts";
import { fileIdentities, runGoprefetch } from "../support/goprefetch.ts";
import { serveSumDb, type SumDbServer, type SumDbServerOptions } from "../support/sumdb_server.ts";

const VERSION = toolchainVersion("go9.99.0", "linux", "amd64");
const ID = `golang.org/toolchain@${VERSION}`;
const FILE_MODE = 0o666 & ~process.umask();

interface Setup {
  /** GOMODCACHE. */
  root: string;
  /** `$GOPATH/pkg/sumdb`. */
  sumdbDir: string;
  opts: StepOptions;
  server: SumDbServer;
}

async function withServer(
  options: Partial<SumDbServerOptions>,
  body: (setup: Setup) => Promise<void>,
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
type StepOptions = Omit<ToolchainOptions, "client" | "pool">;

/** Runs the toolchain step as a run does: through a proxy client over `opts.proxies`, and an install pool. */
async function prefetch(opts: StepOptions): Promise<ModuleRecord> {
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

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
const sumdbCache = (root: string) => join(root, "cache/download/sumdb/sumdb.test");
const lookupFile = (root: string) => join(sumdbCache(root), `lookup/${ID}`);
const latestFile = (sumdbDir: string) => join(sumdbDir, "sumdb.test/latest");

/** Every file under `dir`, relative, sorted; empty when `dir` does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const tree = await snapshotTree(dir).catch(() => new Map());
  return [...tree.values()].filter((e) => e.kind === "file").map((e) => e.path);
}

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
  assert.throws(
    () => parseGoSumDb("off"),
    /^SumDbError: checksum database disabled by GOSUMDB=off$/,
  );
  assert.throws(() => parseGoSumDb(""), /^SumDbError: missing GOSUMDB$/);
  assert.throws(() => parseGoSumDb("sum.example.com"), /invalid GOSUMDB: malformed verifier id/);
  assert.throws(() => parseGoSumDb("a b c"), /invalid GOSUMDB: too many fields/);
});

Deno.test("the toolchain module needs the checksum database as go's useSumDB decides", () => {
  const settings = { gosumdb: "off", gonosumdb: "golang.org", goproxy: "https://p.example" };
  assert.equal(useSumDb("golang.org/toolchain", settings), true, "GOSUMDB=off is not enough");
  assert.equal(useSumDb("golang.org/toolchain", { ...settings, gosumdb: "sum.golang.org" }), true);
  assert.equal(useSumDb("golang.org/x/mod", settings), false);
  const fileProxy = { ...settings, goproxy: "file:///srv/distpack" };
  assert.equal(useSumDb("golang.org/toolchain", fileProxy), false, "a single file:// proxy");
  assert.equal(
    useSumDb("golang.org/toolchain", { ...fileProxy, gosumdb: "sum.golang.org", gonosumdb: "" }),
    true,
  );
  assert.equal(
    useSumDb("golang.org/toolchain", { ...settings, goproxy: "file:///srv/distpack,direct" }),
    true,
  );
  assert.equal(
    useSumDb("golang.org/toolchain", { ...settings, gitHttpUserAgent: "proxy.golang.org fetch" }),
    false,
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

Deno.test("the lookup is proven by tiles and leaves go's sumdb state: record, tiles, latest", async () => {
  await withServer({}, async ({ root, sumdbDir, opts, server }) => {
    const record = await prefetch(opts);
    assert.equal(record.status, "fetched", record.error);
    // 1000 records: the tree hash needs the partial tiles 1/000.p/3 and 0/003.p/232, and
    // record 500 the full tile 0/001 below the first.
    assert.deepEqual(await filesUnder(sumdbCache(root)), [
      `lookup/${ID}`,
      "tile/8/0/001",
      "tile/8/0/003.p/232",
      "tile/8/1/000.p/3",
    ]);
    for (const tile of ["tile/8/0/001", "tile/8/0/003.p/232", "tile/8/1/000.p/3"]) {
      const served = await (await fetch(`${server.url}/sumdb/sumdb.test/${tile}`)).bytes();
      assert.deepEqual(await Deno.readFile(join(sumdbCache(root), tile)), served, tile);
      assert.equal(await mode(join(sumdbCache(root), tile)), FILE_MODE, tile);
    }
    const lookup = await (await fetch(`${server.url}/sumdb/sumdb.test/lookup/${ID}`)).text();
    assert.equal(await Deno.readTextFile(lookupFile(root)), lookup);
    assert.equal(await Deno.readTextFile(latestFile(sumdbDir)), await server.treeNote(1000));
    assert.equal(await mode(latestFile(sumdbDir)), FILE_MODE);
    assert.equal(await mode(sumdbCache(root)), 0o777 & ~process.umask());

    const seen = server.requests.length;
    const again = await prefetch(opts);
    assert.equal(again.status, "cached", again.error);
    assert.deepEqual(server.requests.slice(seen), [], "verified from go's sumdb cache alone");
  });
});

Deno.test("inclusion proofs hold wherever the record is, in trees of one to three tile levels", async () => {
  const cases: [number, number][] = [[1, 0], [256, 255], [257, 256], [1000, 0], [1000, 999], [
    70_000,
    12_345,
  ], [70_000, 69_999]];
  for (const [records, recordId] of cases) {
    await withServer({ records, recordId }, async ({ opts }) => {
      const record = await prefetch(opts);
      assert.equal(record.status, "fetched", `${records} records, #${recordId}: ${record.error}`);
    });
  }
});

async function assertNothingInstalled(root: string): Promise<void> {
  const atV = join(root, "cache/download/golang.org/toolchain/@v");
  const names = [...Deno.readDirSync(atV)].map((e) => e.name);
  assert.deepEqual(names.filter((n) => !n.endsWith(".lock")), []);
  await assert.rejects(Deno.stat(join(root, ID)));
  await assert.rejects(Deno.stat(lookupFile(root)), "no unverified lookup is cached");
}

async function assertFails(
  options: Partial<SumDbServerOptions>,
  error: RegExp,
  before?: (setup: Setup) => Promise<void>,
): Promise<void> {
  await withServer(options, async (setup) => {
    await before?.(setup);
    const record = await prefetch(setup.opts);
    assert.equal(record.status, "failed");
    assert.match(record.error!, error);
    await assertNothingInstalled(setup.root);
  });
}

const verifying =
  `^golang\\.org/toolchain@v0\\.0\\.1-go9\\.99\\.0\\.linux-amd64: verifying module: `;

Deno.test("a tree note signed with another key fails and installs nothing", async () => {
  await assertFails(
    { badSignature: true },
    new RegExp(
      `${verifying}sumdb\\.test: reading tree note: invalid signature for key sumdb\\.test\\+`,
    ),
  );
});

Deno.test("a record hash unlike the zip's h1 fails and installs nothing", async () => {
  await withServer({ recordHash: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, async (s) => {
    const record = await prefetch(s.opts);
    assert.equal(record.status, "failed");
    assert.match(
      record.error!,
      /^golang\.org\/toolchain@v0\.0\.1-go9\.99\.0\.linux-amd64: checksum mismatch: the downloaded zip has h1:\S+, the checksum database sumdb\.test has h1:AAAA/,
    );
    const atV = join(s.root, "cache/download/golang.org/toolchain/@v");
    assert.deepEqual([...Deno.readDirSync(atV)].map((e) => e.name), [`${VERSION}.lock`]);
    await assert.rejects(Deno.stat(join(s.root, ID)));
  });
});

Deno.test("a record the signed tree does not hold fails and installs nothing", async () => {
  await assertFails(
    { recordNotInTree: true },
    new RegExp(`${verifying}sumdb\\.test: cannot authenticate record data in server response$`),
  );
});

Deno.test("a tile whose hashes do not match the signed tree fails and installs nothing", async () => {
  for (const tile of ["tile/8/0/001", "tile/8/0/003.p/232", "tile/8/1/000.p/3"]) {
    await assertFails(
      { corruptTile: tile },
      new RegExp(`${verifying}sumdb\\.test: downloaded inconsistent tile$`),
    );
  }
});

Deno.test("a record beyond the signed tree fails and installs nothing", async () => {
  await assertFails(
    { treeSize: 400 },
    new RegExp(`${verifying}sumdb\\.test: cannot validate record 500 in tree of size 400$`),
  );
});

Deno.test("a tree consistent with the stored latest one replaces it, proven by tiles", async () => {
  await withServer({}, async ({ root, sumdbDir, opts, server }) => {
    await Deno.mkdir(join(sumdbDir, "sumdb.test"), { recursive: true });
    await Deno.writeTextFile(latestFile(sumdbDir), await server.treeNote(700));
    const record = await prefetch(opts);
    assert.equal(record.status, "fetched", record.error);
    assert.equal(await Deno.readTextFile(latestFile(sumdbDir)), await server.treeNote(1000));
    assert.ok((await filesUnder(sumdbCache(root))).includes("tile/8/0/002"), "the proof's tile");
  });
});

Deno.test("a stored latest tree newer than the answer's stays, and proves the answer", async () => {
  await withServer({ treeSize: 900 }, async ({ sumdbDir, opts, server }) => {
    await Deno.mkdir(join(sumdbDir, "sumdb.test"), { recursive: true });
    await Deno.writeTextFile(latestFile(sumdbDir), await server.treeNote(1000));
    const record = await prefetch(opts);
    assert.equal(record.status, "fetched", record.error);
    assert.equal(await Deno.readTextFile(latestFile(sumdbDir)), await server.treeNote(1000));
  });
});

Deno.test("a stored latest tree the served tiles do not support fails and keeps it", async () => {
  let stored = "";
  await assertFails(
    {},
    new RegExp(`${verifying}sumdb\\.test: checking tree#700: downloaded inconsistent tile$`),
    async ({ sumdbDir, server }) => {
      await Deno.mkdir(join(sumdbDir, "sumdb.test"), { recursive: true });
      stored = await server.treeNote(700, new Uint8Array(32).fill(7));
      await Deno.writeTextFile(latestFile(sumdbDir), stored);
    },
  );
});

Deno.test("a database whose new tree does not contain the stored latest tree is a security error", async () => {
  await withServer({ treeSize: 700 }, async ({ root, sumdbDir, opts, server }) => {
    assert.equal((await prefetch(opts)).status, "fetched");
    const stored = await Deno.readTextFile(latestFile(sumdbDir));
    assert.equal(stored, await server.treeNote(700));
    const forked = await serveSumDb({ version: VERSION, fork: true });
    try {
      await Deno.remove(lookupFile(root));
      const before = await fileIdentities(join(root, ID));
      const record = await prefetch({ ...opts, proxies: parseProxyList(forked.url, "") });
      assert.equal(record.status, "failed");
      assert.match(
        record.error!,
        new RegExp(
          `${verifying}sumdb\\.test: security error: the checksum database misbehaves: ` +
            "its tree of 1000 records does not contain its earlier tree of 700 records\\n",
        ),
      );
      assert.equal(await Deno.readTextFile(latestFile(sumdbDir)), stored);
      assert.deepEqual(await fileIdentities(join(root, ID)), before);
      await assert.rejects(Deno.stat(lookupFile(root)));
    } finally {
      await forked.close();
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

Deno.test("an explicit GOSUMDB URL is used as is, and the proxies are not asked", async () => {
  await withServer({ unsupported: true }, async ({ opts, server }) => {
    const record = await prefetch({
      ...opts,
      gosumdb: `${server.gosumdb} ${server.url}/sumdb/sumdb.test`,
    });
    assert.equal(record.status, "fetched", record.error);
    assert.ok(!server.requests.some((r) => r.endsWith("/supported")));
    assert.ok(server.requests.some((r) => r.startsWith("/sumdb/sumdb.test/lookup/")));
  });
});

Deno.test("credentials in the proxy URL reach the proxied sumdb, and never an error", async () => {
  await withServer({}, async ({ opts, server }) => {
    const goproxy = server.url.replace("//", "//ci:s3cret@");
    const record = await prefetch({ ...opts, proxies: parseProxyList(goproxy, "") });
    assert.equal(record.status, "fetched", record.error);
    const basic = `Basic ${btoa("ci:s3cret")}`;
    const sumdb = server.requests.flatMap((r, i) =>
      r.startsWith("/sumdb/") ? [server.authorizations[i]] : []
    );
    assert.ok(sumdb.length >= 5 && sumdb.every((a) => a === basic), sumdb.join());
  });
  await withServer({}, async ({ opts }) => {
    const closed = await serveSumDb({ version: VERSION });
    await closed.close();
    const goproxy = closed.url.replace("//", "//ci:s3cret@");
    const record = await prefetch({ ...opts, proxies: parseProxyList(goproxy, "") });
    assert.equal(record.status, "failed");
    assert.ok(!record.error!.includes("s3cret"), record.error);
    assert.match(
      record.error!,
      /verifying module: sumdb\.test: http:\/\/127\.0\.0\.1:\d+\/sumdb\/sumdb\.test\/supported: .*Connection refused/,
    );
  });
});

Deno.test("the sumdb is found through the proxies as go's initBase finds it", async () => {
  const broken = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("down", { status: 500 }),
  );
  const bad = `http://127.0.0.1:${broken.addr.port}`;
  try {
    await withServer({}, async ({ opts, server }) => {
      const through = (goproxy: string) =>
        prefetch({ ...opts, goproxy, proxies: parseProxyList(goproxy, "") });
      const failed = await through(`${bad},${server.url}`);
      assert.equal(failed.status, "failed");
      assert.match(failed.error!, /sumdb\/sumdb\.test\/supported: 500/);
      const record = await through(`${bad}|${server.url}`);
      assert.equal(record.status, "fetched", record.error);
    });
  } finally {
    await broken.shutdown();
  }
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
