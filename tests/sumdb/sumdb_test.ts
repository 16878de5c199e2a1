import assert from "node:assert/strict";
import { join } from "node:path";
import { parseProxyList } from "../../src/goproxy/proxy_list.ts";
import { parseGoSumDb, useSumDb } from "../../src/sumdb/sumdb.ts";
import { fileIdentities } from "../support/go.ts";
import { serveSumDb, type SumDbServerOptions } from "../support/sumdb_server.ts";
import {
  FILE_MODE,
  filesUnder,
  ID,
  latestFile,
  lookupFile,
  mode,
  prefetch,
  type StepSetup,
  sumdbCache,
  VERSION,
  withServer,
} from "../support/toolchain_step.ts";

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
  before?: (setup: StepSetup) => Promise<void>,
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
