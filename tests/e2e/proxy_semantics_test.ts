/**
 * GOPROXY semantics end to end, with two local proxies A and B serving the same modules:
 * fallback on `,` and `|`, `off` and `direct`, --proxy, GOPRIVATE/GONOPROXY, `file://`,
 * case escapes on the wire, checksum mismatches and redirects.
 */
import { makeSandbox, type Sandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { diffTrees, runGo, snapshotTree, tempDir } from "../support/go.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { writeProxyTree } from "../support/modules.ts";
import { type Fault, type ProxyServer, serveProxy } from "../support/proxy_server.ts";
import {
  ALPHA,
  completeModule,
  moduleFiles,
  SMALL_MODULES,
  tidySmallProject,
} from "../support/small_project.ts";

const PROJECT = await tidySmallProject();
const ALPHA_DIR = `/${ALPHA.path}/@v/`;
const ALPHA_REQUESTS = ["info", "mod", "zip"].map((ext) => `${ALPHA_DIR}${ALPHA.version}.${ext}`);
const OTHERS = SMALL_MODULES.filter((m) => m !== ALPHA);

function summary(fetched: number, skipped: number, failed: number): RegExp {
  return new RegExp(
    `${fetched} fetched, 0 already cached, ${skipped} skipped \\(private/direct\\), ` +
      `${failed} failed`,
  );
}

/** Answers every request for example.com/alpha with `status`; Retry-After 0 keeps retries fast. */
function failAlpha(status: number): Fault {
  return (_req, path) =>
    path.startsWith(ALPHA_DIR)
      ? new Response(`status ${status} for alpha\n`, {
        status,
        headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "0" },
      })
      : undefined;
}

/** Runs `fn` with a sandbox of the small project and proxies A and B over its proxy tree. */
async function withProxies(
  faults: { a?: Fault; b?: Fault },
  fn: (box: Sandbox, a: ProxyServer, b: ProxyServer) => Promise<void>,
): Promise<void> {
  const box = await makeSandbox(PROJECT);
  const b = await serveProxy(box.proxyRoot, { fault: faults.b });
  const a = await serveProxy(box.proxyRoot, { fault: faults.a });
  try {
    await fn(box, a, b);
  } finally {
    await a.close();
    await b.close();
    await box.remove();
  }
}

function goprefetch(
  box: Sandbox,
  goproxy: string,
  args: string[] = [],
  extra: Record<string, string> = {},
): Promise<CliRun> {
  return runCli(["-v", ...args, "."], { cwd: box.project, env: box.env(goproxy, extra) });
}

function alphaRequests(proxy: ProxyServer): string[] {
  return [...new Set(proxy.requests.filter((p) => p.startsWith(ALPHA_DIR)))].sort();
}

/** The `-v` line for a module, e.g. `fetched   example.com/alpha@v1.0.0  1.2 KiB ...`. */
function moduleLine(run: CliRun, m: { path: string; version: string }): string {
  const lines = run.stderr.split("\n").filter((l) => l.includes(` ${m.path}@${m.version}`));
  assert.equal(lines.length, 1, run.stderr);
  return lines[0];
}

async function assertComplete(box: Sandbox, m: { path: string; version: string }): Promise<void> {
  assert.deepEqual(await moduleFiles(box.gomodcache, m.path, m.version), completeModule(m.version));
}

/** Nothing go would use is left for alpha: no tree, no zip, no .ziphash, no .partial, no temp. */
async function assertNoAlphaZip(box: Sandbox, alsoAbsent: string[] = []): Promise<void> {
  const files = await moduleFiles(box.gomodcache, ALPHA.path, ALPHA.version);
  assert.equal(files.dir, false, "alpha's directory exists");
  const allowed = ["info", "mod", "lock"].filter((ext) => !alsoAbsent.includes(ext))
    .map((ext) => `${ALPHA.version}.${ext}`);
  assert.deepEqual(files.download.filter((f) => !allowed.includes(f)), [], files.download.join());
}

function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

for (const status of [404, 410]) {
  Deno.test(`proxy: A,B where A answers ${status} for a module fetches it from B`, async () => {
    await withProxies({ a: failAlpha(status) }, async (box, a, b) => {
      const r = await goprefetch(box, `${a.url},${b.url}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, summary(3, 0, 0));
      assert.deepEqual(alphaRequests(b), ALPHA_REQUESTS);
      assert.ok(b.requests.every((p) => p.startsWith(ALPHA_DIR)), b.requests.join("\n"));
      assert.ok(moduleLine(r, ALPHA).includes(`from ${b.url}`), moduleLine(r, ALPHA));
      for (const m of SMALL_MODULES) await assertComplete(box, m);
    });
  });
}

Deno.test("proxy: A,B where A answers 500 fails the module without trying B", async () => {
  await withProxies({ a: failAlpha(500) }, async (box, a, b) => {
    const r = await goprefetch(box, `${a.url},${b.url}`, ["--continue-on-error"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, summary(2, 0, 1));
    assert.match(moduleLine(r, ALPHA), /: 500 /);
    assert.match(moduleLine(r, ALPHA), /status 500 for alpha/);
    assert.deepEqual(b.requests, []);
    await assertNoAlphaZip(box);
    for (const m of OTHERS) await assertComplete(box, m);
  });
});

Deno.test("proxy: a go.mod over go's 16 MiB limit fails the module at once, unread and unretried", async () => {
  const huge: Fault = (_req, path) =>
    path === `${ALPHA_DIR}${ALPHA.version}.mod`
      ? new Response(new Uint8Array((16 << 20) + 1), { status: 200 })
      : undefined;
  await withProxies({ a: huge }, async (box, a) => {
    const r = await goprefetch(box, a.url, ["--continue-on-error"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, summary(2, 0, 1));
    assert.match(moduleLine(r, ALPHA), /response larger than 16777216 bytes/);
    assert.equal(a.requests.filter((p) => p.endsWith(".mod") && p.startsWith(ALPHA_DIR)).length, 1);
    await assertNoAlphaZip(box);
  });
});

Deno.test("proxy: A|B where A answers 500 fetches the module from B", async () => {
  await withProxies({ a: failAlpha(500) }, async (box, a, b) => {
    const r = await goprefetch(box, `${a.url}|${b.url}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    assert.deepEqual(alphaRequests(b), ALPHA_REQUESTS);
    for (const m of SMALL_MODULES) await assertComplete(box, m);
  });
});

Deno.test("proxy: A|B where A answers 500 and B 404 reports A's error, the more useful one", async () => {
  await withProxies({ a: failAlpha(500), b: failAlpha(404) }, async (box, a, b) => {
    const r = await goprefetch(box, `${a.url}|${b.url}`, ["--continue-on-error"]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(alphaRequests(b).length > 0, b.requests.join());
    const line = moduleLine(r, ALPHA);
    assert.ok(line.includes(`${a.url}: 500 `), line);
    assert.ok(!line.includes(b.url), line);
    assert.doesNotMatch(line, /: 404 /);
  });
});

Deno.test("proxy: a file:// proxy without the module falls through on , to the next", async () => {
  await withProxies({}, async (box, _a, b) => {
    const empty = join(box.tmp, "empty-proxy");
    await Deno.mkdir(empty);
    const r = await goprefetch(box, `file://${empty},${b.url}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    assert.deepEqual(alphaRequests(b), ALPHA_REQUESTS);
  });
});

Deno.test("proxy: an unreachable A followed by , fails", async () => {
  await withProxies({}, async (box, _a, b) => {
    const r = await goprefetch(box, `${closedPortUrl()},${b.url}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: /);
    assert.deepEqual(b.requests, []);
    for (const m of SMALL_MODULES) {
      assert.equal((await moduleFiles(box.gomodcache, m.path, m.version)).dir, false);
    }
  });
});

Deno.test("proxy: an unreachable A followed by | falls through to B", async () => {
  await withProxies({}, async (box, _a, b) => {
    const r = await goprefetch(box, `${closedPortUrl()}|${b.url}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    for (const m of SMALL_MODULES) await assertComplete(box, m);
  });
});

Deno.test("proxy: GOPROXY=off fails with go's message", async () => {
  await withProxies({}, async (box) => {
    const r = await goprefetch(box, "off");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /module lookup disabled by GOPROXY=off/);
  });
});

Deno.test("proxy: A,direct where A answers 404 leaves the module to go (status direct)", async () => {
  await withProxies({ a: failAlpha(404) }, async (box, a) => {
    const r = await goprefetch(box, `${a.url},direct`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(2, 1, 0));
    assert.match(moduleLine(r, ALPHA), /^direct /);
    await assertNoAlphaZip(box, ["info", "mod"]);
    for (const m of OTHERS) await assertComplete(box, m);
  });
});

Deno.test("proxy: GOPROXY=direct leaves every module to go", async () => {
  await withProxies({}, async (box, a) => {
    const r = await goprefetch(box, "direct");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(0, 3, 0));
    for (const m of SMALL_MODULES) assert.match(moduleLine(r, m), /^direct /);
    assert.deepEqual(a.requests, []);
  });
});

Deno.test("proxy: a proxy list go would reject exits 2 with go's message", async () => {
  await withProxies({}, async (box, a) => {
    const empty = await goprefetch(box, a.url, ["--proxy", " , "]);
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /GOPROXY list is not the empty string, but contains no entries/);
    const word = await goprefetch(box, a.url, ["--proxy", "foo"]);
    assert.equal(word.code, 2, word.stderr);
    assert.match(word.stderr, /invalid proxy URL missing scheme: "?foo"?/);
    assert.deepEqual(a.requests, []);
  });
});

Deno.test("proxy: --proxy overrides GOPROXY", async () => {
  await withProxies({}, async (box, a) => {
    const r = await goprefetch(box, "off", ["--proxy", a.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    assert.deepEqual(alphaRequests(a), ALPHA_REQUESTS);
  });
});

for (const variable of ["GOPRIVATE", "GONOPROXY"]) {
  Deno.test(`proxy: a module matching ${variable} is skipped as private without a request`, async () => {
    await withProxies({}, async (box, a) => {
      const r = await goprefetch(box, a.url, [], { [variable]: "example.com/alpha" });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, summary(2, 1, 0));
      assert.match(moduleLine(r, ALPHA), /^private /);
      assert.deepEqual(alphaRequests(a), []);
      assert.deepEqual(await moduleFiles(box.gomodcache, ALPHA.path, ALPHA.version), {
        dir: false,
        download: [],
      });
    });
  });
}

Deno.test("proxy: a module matching only GONOSUMDB is still fetched", async () => {
  await withProxies({}, async (box, a) => {
    const r = await goprefetch(box, a.url, [], { GONOSUMDB: "example.com/alpha" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    assert.deepEqual(alphaRequests(a), ALPHA_REQUESTS);
  });
});

Deno.test("proxy: a file:// proxy gives the same cache as the HTTP one", async () => {
  await withProxies({}, async (box, a) => {
    const viaHttp = await goprefetch(box, a.url);
    assert.equal(viaHttp.code, 0, viaHttp.stderr);
    const cacheFile = join(box.tmp, "cache-file");
    const viaFile = await goprefetch(box, `file://${box.proxyRoot}`, [], {
      GOMODCACHE: cacheFile,
    });
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.match(viaFile.stderr, summary(3, 0, 0));
    const notLock = (p: string) => p.endsWith(".lock");
    const http = await snapshotTree(box.gomodcache, { ignore: notLock });
    assert.ok(http.size > 20);
    assert.deepEqual(diffTrees(http, await snapshotTree(cacheFile, { ignore: notLock })), []);
  });
});

Deno.test("proxy: upper case in paths and versions goes on the wire as %21 escapes, as go sends it", async () => {
  const raw: string[] = [];
  const record: Fault = (req) => {
    raw.push(new URL(req.url).pathname);
    return undefined;
  };
  await withProxies({ a: record }, async (box, a) => {
    const go = await runGo(["mod", "download"], {
      cwd: box.project,
      env: { ...box.env(a.url), GOMODCACHE: join(box.tmp, "cache-go") },
    });
    assert.equal(go.code, 0, go.stderr);
    const fromGo = [...new Set(raw)].sort();
    raw.length = 0;
    const r = await goprefetch(box, a.url);
    assert.equal(r.code, 0, r.stderr);
    const ours = [...new Set(raw)].sort();
    const beta = SMALL_MODULES.find((m) => m.path === "example.com/Beta")!;
    const betaBase = `/${escapePath(beta.path)}/@v/${escapeVersion(beta.version)}`
      .replaceAll("!", "%21");
    assert.deepEqual(
      ours.filter((p) => p.includes("beta")),
      ["info", "mod", "zip"].map((ext) => `${betaBase}.${ext}`),
    );
    assert.deepEqual(ours, fromGo);
  });
});

Deno.test("proxy: a zip whose hash differs from go.sum fails its module and leaves nothing of it", async () => {
  const other = await tempDir("goprefetch-tampered-");
  try {
    await writeProxyTree(other, [{
      ...ALPHA,
      files: { "alpha.go": "package alpha // tampered\n" },
    }]);
    const tampered = await Deno.readFile(join(other, ALPHA.path, "@v", `${ALPHA.version}.zip`));
    const serveTampered: Fault = (_req, path) =>
      path === `${ALPHA_DIR}${ALPHA.version}.zip` ? new Response(tampered) : undefined;
    await withProxies({ a: serveTampered }, async (box, a) => {
      const r = await goprefetch(box, a.url, ["--continue-on-error"]);
      assert.equal(r.code, 1, r.stderr);
      const error = r.stderr.split("\n").find((l) => l.includes("error:")) ?? "";
      assert.ok(error.includes(`${ALPHA.path}@${ALPHA.version}`), r.stderr);
      assert.match(error, /checksum mismatch/);
      assert.match(r.stderr, summary(2, 0, 1));
      await assertNoAlphaZip(box);
      for (const m of OTHERS) await assertComplete(box, m);
    });
    await withProxies({ a: serveTampered }, async (box, a) => {
      const r = await goprefetch(box, a.url);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error: .*example\.com\/alpha@v1\.0\.0.*checksum mismatch/);
      assert.match(r.stderr, /, 1 failed/);
      await assertNoAlphaZip(box);
    });
  } finally {
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("proxy: a go.mod whose hash differs from go.sum fails its module and is not written", async () => {
  const serveOtherMod: Fault = (_req, path) =>
    path === `${ALPHA_DIR}${ALPHA.version}.mod`
      ? new Response(`module ${ALPHA.path}\n\ngo 1.22\n`)
      : undefined;
  await withProxies({ a: serveOtherMod }, async (box, a) => {
    const r = await goprefetch(box, a.url, ["--continue-on-error"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: .*example\.com\/alpha@v1\.0\.0.*go\.mod checksum mismatch/);
    assert.match(r.stderr, summary(2, 0, 1));
    const files = await moduleFiles(box.gomodcache, ALPHA.path, ALPHA.version);
    assert.deepEqual(files.download.filter((f) => f.includes(".mod")), []);
    const list = await Deno.readTextFile(join(box.gomodcache, "cache/download", ALPHA_DIR, "list"))
      .catch(() => "");
    assert.doesNotMatch(list, /v1\.0\.0/);
  });
});

Deno.test("proxy: a redirect loop fails the module after at most 10 redirects", async () => {
  const loop: Fault = (req, path) =>
    path === `${ALPHA_DIR}${ALPHA.version}.zip`
      ? new Response(null, { status: 302, headers: { location: new URL(req.url).pathname } })
      : undefined;
  await withProxies({ a: loop }, async (box, a) => {
    const r = await goprefetch(box, a.url, ["--continue-on-error"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(moduleLine(r, ALPHA), /redirect/);
    const hops = a.requests.filter((p) => p === `${ALPHA_DIR}${ALPHA.version}.zip`).length;
    assert.ok(hops >= 10 && hops <= 11, `${hops} requests for the zip`);
    await assertNoAlphaZip(box);
  });
});

Deno.test("proxy: zip requests redirected (302) to another server are followed", async () => {
  let b: ProxyServer | undefined;
  const redirect: Fault = (req, path) =>
    path.endsWith(".zip")
      ? new Response(null, {
        status: 302,
        headers: { location: b!.url + new URL(req.url).pathname },
      })
      : undefined;
  await withProxies({ a: redirect }, async (box, a, proxyB) => {
    b = proxyB;
    const r = await goprefetch(box, a.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, summary(3, 0, 0));
    const zips = SMALL_MODULES.map((m) =>
      `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.zip`
    );
    assert.deepEqual([...b.requests].sort(), zips.sort());
    for (const m of SMALL_MODULES) await assertComplete(box, m);
  });
});
