/**
 * Private proxies end to end, the go command as the oracle: an https proxy (a throwaway CA
 * that go trusts through SSL_CERT_FILE and goprefetch through DENO_CERT) that wants Basic
 * credentials, given by .netrc (go 1.24+ matching, GOAUTH) or in the proxy URL; GONOPROXY and
 * GONOSUMDB decided as go decides; and credentials absent from every output.
 */
import { makeSandbox, type Sandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { diffTrees, runGo, snapshotTree } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { type Fault, type ProxyServer, serveProxy } from "../support/proxy_server.ts";
import { ALPHA, SMALL_MODULES, tidySmallProject } from "../support/small_project.ts";
import { makeTestCertificates } from "../support/tls.ts";

const PROJECT = await tidySmallProject();
const USER = "ci-bot";
const PASSWORD = "s3cret-Pa55";
const BASIC = "Basic " + btoa(`${USER}:${PASSWORD}`);
const notLock = (p: string) => p.endsWith(".lock");

/** Answers 401 unless the request carries {@link BASIC}. */
const requireAuth: Fault = (req) =>
  req.headers.get("authorization") === BASIC ? undefined : new Response("unauthorized\n", {
    status: 401,
    headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": "Basic" },
  });

interface Context {
  box: Sandbox;
  proxy: ProxyServer;
  /** The environment for go and goprefetch alike: the CA trusted by both, NETRC, GOAUTH. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Writes the netrc file NETRC names. */
  netrc(text: string): Promise<void>;
}

async function withHttpsProxy(fn: (ctx: Context) => Promise<void>): Promise<void> {
  const box = await makeSandbox(PROJECT);
  const tls = await makeTestCertificates(box.tmp);
  const proxy = await serveProxy(box.proxyRoot, { tls, fault: requireAuth });
  const netrcFile = join(box.home, "netrc");
  try {
    await fn({
      box,
      proxy,
      env: (extra = {}) =>
        box.env(proxy.url, {
          SSL_CERT_FILE: tls.caFile,
          DENO_CERT: tls.caFile,
          NETRC: netrcFile,
          GOAUTH: "netrc",
          ...extra,
        }),
      netrc: (text) => Deno.writeTextFile(netrcFile, text),
    });
  } finally {
    await proxy.close();
    await box.remove();
  }
}

/** The module versions a request log touched, as `path@version`, sorted. */
function modulesAsked(requests: string[]): string[] {
  const ids = requests.map((r) => {
    const m = /^\/(.+)\/@v\/(.+)\.(info|mod|zip)$/.exec(r);
    return m ? `${m[1]}@${m[2]}` : r;
  });
  return [...new Set(ids)].sort();
}

Deno.test("private proxy: netrc credentials for host:port reach an https proxy, for go and goprefetch alike", async () => {
  await withHttpsProxy(async ({ box, proxy, env, netrc }) => {
    const host = new URL(proxy.url).host;
    await netrc(
      `machine example.org login x password y\nmachine ${host}\n` +
        `  login ${USER}\n  password ${PASSWORD}\n`,
    );
    const cacheGo = join(box.tmp, "cache-go");
    const download = await runGo(["mod", "download"], {
      cwd: box.project,
      env: env({ GOMODCACHE: cacheGo }),
    });
    assert.equal(download.code, 0, download.stderr);
    const run = await runCli(["."], { cwd: box.project, env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );
    assert.deepEqual(
      diffTrees(
        await snapshotTree(cacheGo, { ignore: notLock }),
        await snapshotTree(box.gomodcache, { ignore: notLock }),
      ),
      [],
    );
  });
});

Deno.test("private proxy: no credentials when the machine lacks the port, or GOAUTH=off; go fails the same way", async () => {
  await withHttpsProxy(async ({ box, proxy, env, netrc }) => {
    const host = new URL(proxy.url).host;
    const cases: [string, string, Record<string, string>][] = [
      ["machine without port", `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`, {}],
      ["GOAUTH=off", `machine ${host} login ${USER} password ${PASSWORD}\n`, { GOAUTH: "off" }],
    ];
    for (const [name, text, extra] of cases) {
      await netrc(text);
      const download = await runGo(["mod", "download"], {
        cwd: box.project,
        env: env({ ...extra, GOMODCACHE: join(box.tmp, `cache-go-${name}`) }),
      });
      assert.notEqual(download.code, 0, `${name}: go succeeded`);
      assert.match(download.stderr, /401 Unauthorized/, name);
      const run = await runCli(["."], { cwd: box.project, env: env(extra) });
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      assert.match(run.stderr, /401 Unauthorized/, name);
    }
  });
});

Deno.test("private proxy: GONOPROXY skips a module and GONOSUMDB does not, as the go command decides", async () => {
  await withHttpsProxy(async ({ box, proxy, env, netrc }) => {
    await netrc(`machine ${new URL(proxy.url).host} login ${USER} password ${PASSWORD}\n`);
    for (const variable of ["GONOPROXY", "GONOSUMDB"]) {
      const extra = { [variable]: ALPHA.path };
      proxy.requests.length = 0;
      await runGo(["mod", "download"], {
        cwd: box.project,
        env: env({ ...extra, GOMODCACHE: join(box.tmp, `cache-go-${variable}`) }),
      });
      const byGo = modulesAsked(proxy.requests);
      proxy.requests.length = 0;
      const run = await runCli(["-v", "."], {
        cwd: box.project,
        env: env({ ...extra, GOMODCACHE: join(box.tmp, `cache-${variable}`) }),
      });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(modulesAsked(proxy.requests), byGo, variable);
      const alpha = `${ALPHA.path}@${ALPHA.version}`;
      assert.equal(byGo.includes(alpha), variable === "GONOSUMDB", variable);
      const line = run.stderr.split("\n").find((l) => l.includes(` ${alpha}`)) ?? "";
      assert.match(line, variable === "GONOPROXY" ? /^private / : /^fetched /);
    }
  });
});

Deno.test("private proxy: credentials never appear in output, errors or the JSON report", async () => {
  await withHttpsProxy(async ({ box, proxy, env, netrc }) => {
    const host = new URL(proxy.url).host;
    await netrc(`machine ${host} login ${USER} password ${PASSWORD}\n`);
    const beta = SMALL_MODULES[1];
    await Deno.remove(join(box.proxyRoot, "example.com", "!beta"), { recursive: true });
    const withUser = proxy.url.replace("https://", `https://${USER}:${PASSWORD}@`);
    const runs = [
      await runCli(["-v", "--json", "--continue-on-error", "."], {
        cwd: box.project,
        env: env({ GOMODCACHE: join(box.tmp, "c1") }),
      }),
      await runCli(["-v", "--json", "--continue-on-error", "--proxy", withUser, "."], {
        cwd: box.project,
        env: env({ GOMODCACHE: join(box.tmp, "c2"), NETRC: "/nonexistent" }),
      }),
      await runCli(["--json", "--proxy", `${withUser}/go?query`, "."], {
        cwd: box.project,
        env: env(),
      }),
    ];
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, i < 2 ? 1 : 2, run.stderr);
      const all = run.stdout + run.stderr;
      for (const secret of [PASSWORD, btoa(`${USER}:${PASSWORD}`), BASIC]) {
        assert.ok(!all.includes(secret), `run ${i} shows a secret:\n${all}`);
      }
    }
    for (const run of runs.slice(0, 2)) {
      const report = JSON.parse(run.stdout);
      assert.equal(report.settings.goproxy, proxy.url);
      const ok = report.modules.filter((m: { status: string }) => m.status === "fetched");
      assert.equal(ok.length, 2);
      for (const m of ok) assert.equal(m.proxy, proxy.url);
      const failed = report.modules.find((m: { path: string }) => m.path === beta.path);
      assert.match(failed.error, /404 Not Found/);
    }
  });
});
