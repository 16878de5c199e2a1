/**
 * The GOPROXY client where the transport or this machine is at fault: an HTTP/2 connection
 * that dies or a stream that stalls or is reset (each client port is a connection), a
 * redirect to a host the Deno permissions leave out, a temp file that cannot be written, and
 * the mode of a zip streamed to its temp file, against go under another umask.
 */
import { makeTinySandbox, withProxyProject, withStandardProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalError, ProxyClient } from "../../src/goproxy/goproxy.ts";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { parseProxyList } from "../../src/goproxy/proxy_list.ts";
import { MemoryBudget } from "../../src/util/semaphore.ts";
import { diffTrees, goEnv, makeWritable, runGo, snapshotTree, tempDir } from "../support/go.ts";
import { CLI_TS, cliArgv, runCli } from "../support/cli.ts";
import { BUILD_LIST_ONLY_INFO, type ModuleSpec, writeProxyTree } from "../support/modules.ts";
import { canCheck, needing } from "../support/platform.ts";
import { type Fault, serveProxy } from "../support/proxy_server.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls.ts";

const notLock = (rel: string) => rel.endsWith(".lock");

/** The decoded proxy path of a module's zip. */
function zipPath(m: { path: string; version: string }): string {
  return `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.zip`;
}

/** Serves every zip as a stream, so it has no Content-Length and goes to a temp file. */
function streamZips(root: () => string): Fault {
  return (_req, path) => {
    if (!path.endsWith(".zip") || root() === "") return undefined;
    return Deno.readFile(join(root(), ...path.split("/")))
      .then((bytes) => new Response(ReadableStream.from([bytes])));
  };
}

/** `text` as a regular expression that matches exactly it. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Runs `command` under `umask 002` in `cwd` with exactly `env`. */
async function underUmask002(
  command: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'umask 002 && exec "$@"', "sh", ...command],
    cwd,
    env: { ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("under umask 002, zips streamed to temp files get go's modes: the trees match", async () => {
  let root = "";
  await withStandardProject("goprefetch-umask-", async ({ tmp, project, env, proxy }) => {
    root = join(tmp, "proxy");
    const download = await underUmask002(["go", "mod", "download"], project, env(join(tmp, "a")));
    assert.equal(download.code, 0, download.stderr);
    const asked = proxy.requests.length;
    const run = await underUmask002(
      cliArgv(["-q", "."]),
      project,
      env(join(tmp, "b")),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(proxy.requests.slice(asked).some((p) => p.endsWith(".zip")), "no zip was fetched");

    const ours = await snapshotTree(join(tmp, "b"), { ignore: notLock });
    const zips = [...ours.values()].filter((e) => e.path.endsWith(".zip"));
    assert.ok(zips.length > 0);
    for (const zip of zips) assert.equal(zip.mode, 0o664, zip.path);
    const theirs = await snapshotTree(join(tmp, "a"), { ignore: notLock });
    assert.deepEqual(diffTrees(theirs, ours), BUILD_LIST_ONLY_INFO);
  }, { fault: streamZips(() => root) });
});

/** What the HTTP/2 proxy does with one request. */
type H2Answer = "serve" | "stall" | "reset" | "hang";

/** An https proxy (HTTP/2 by ALPN) that logs which client port, so which connection, asked. */
interface H2Proxy {
  url: string;
  requests: { path: string; port: number }[];
  close(): Promise<void>;
}

/**
 * Serves `root` over https; `answer` decides each request: served, half the body then a stall
 * or a stream error, or no answer at all. Stalls and hangs end when the proxy closes.
 */
async function serveH2(
  root: string,
  tls: TestCertificates,
  answer: (path: string, port: number, requests: H2Proxy["requests"]) => H2Answer,
): Promise<H2Proxy> {
  const requests: H2Proxy["requests"] = [];
  const released = Promise.withResolvers<void>();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const listen = { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key };
  const server = Deno.serve({ ...listen, onListen: listening.resolve }, async (req, info) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requests.push({ path, port: info.remoteAddr.port });
    const how = answer(path, info.remoteAddr.port, requests);
    if (how === "hang") {
      await released.promise;
      return new Response(null, { status: 503 });
    }
    const body = await Deno.readFile(join(root, ...path.split("/"))).catch(() => undefined);
    if (!body) return new Response("not found\n", { status: 404 });
    if (how === "serve") return new Response(body);
    let sent = false;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull: (c) => {
          if (!sent) {
            sent = true;
            c.enqueue(body.subarray(0, body.length >> 1));
          } else if (how === "reset") c.error(new Error("goproxy_test: a stream reset, injected"));
          else return released.promise;
        },
      }),
    );
  });
  const addr = await listening.promise;
  return {
    url: `https://127.0.0.1:${addr.port}`,
    requests,
    close: async () => {
      released.resolve();
      await server.shutdown();
    },
  };
}

/** Publishes `specs` behind an HTTP/2 proxy and hands `fn` a goprefetch runner trusting it. */
async function withH2Proxy(
  specs: ModuleSpec[],
  answer: Parameters<typeof serveH2>[2],
  fn: (
    h2: H2Proxy,
    run: (args: string[]) => ReturnType<typeof runCli>,
    oracle: () => Promise<string[]>,
  ) => Promise<void>,
): Promise<void> {
  await withProxyProject("goprefetch-h2-", specs, async (p) => {
    await writeTinyProject(p.project, specs);
    const tls = await makeTestCertificates(p.tmp);
    const h2 = await serveH2(p.root, tls, answer);
    const cache = join(p.tmp, "cache");
    try {
      await fn(
        h2,
        (args) =>
          runCli(args, {
            cwd: p.project,
            env: p.env(cache, { DENO_CERT: tls.caFile }, h2.url),
          }),
        async () => {
          const download = await runGo(["mod", "download"], {
            cwd: p.project,
            env: p.env(join(p.tmp, "oracle")),
          });
          assert.equal(download.code, 0, download.stderr);
          return diffTrees(
            await snapshotTree(join(p.tmp, "oracle"), { ignore: notLock }),
            await snapshotTree(cache, { ignore: notLock }),
          );
        },
      );
    } finally {
      await h2.close();
    }
  });
}

/** Retries per module from the `-v` lines. */
function retries(stderr: string): number {
  let n = 0;
  for (const m of stderr.matchAll(/^fetched +\S+ .* (\d+) retr(?:y|ies)$/gm)) n += Number(m[1]);
  return n;
}

/** The port of the first connection in `requests` to carry more than `count` of them. */
function firstPortPast(requests: H2Proxy["requests"], count: number): number | undefined {
  const seen = new Map<number, number>();
  for (const { port } of requests) {
    const n = (seen.get(port) ?? 0) + 1;
    if (n > count) return port;
    seen.set(port, n);
  }
}

Deno.test("h2: a connection that stops answering is dropped; later requests and retries go elsewhere", async () => {
  const DIES_AFTER = 10;
  const CONCURRENCY = 4;
  const specs = tinyModules(24);
  await withH2Proxy(specs, (_path, port, requests) => {
    return port === firstPortPast(requests, DIES_AFTER) ? "hang" : "serve";
  }, async (h2, run) => {
    const r = await run(["-v", "-c", String(CONCURRENCY), "--stall-timeout", "1", "."]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /24 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/);

    const dead = firstPortPast(h2.requests, DIES_AFTER);
    assert.ok(dead !== undefined, "no connection carried more than 10 requests: none was shared");
    const hung = h2.requests.filter((q) => q.port === dead).slice(DIES_AFTER);
    assert.ok(hung.length >= 1, "nothing was sent to the dead connection");
    assert.ok(
      hung.length <= CONCURRENCY,
      `${hung.length} requests went to the dead connection after it stopped answering`,
    );
    for (const q of hung) {
      const again = h2.requests.slice(h2.requests.indexOf(q) + 1).find((n) => n.path === q.path);
      assert.ok(again && again.port !== dead, `${q.path} was not retried on another connection`);
    }
    assert.equal(retries(r.stderr), hung.length);
  });
});

Deno.test("h2: a stream that stalls or is reset mid-body is retried on a new connection", async () => {
  const specs = tinyModules(4, { big: { files: 10, bytes: 256 << 10 } });
  const [big, small] = [specs[specs.length - 1], specs[0]];
  const scripts = new Map<string, H2Answer[]>([
    [zipPath(big), ["stall", "reset"]],
    [zipPath(small), ["reset"]],
  ]);
  await withH2Proxy(
    specs,
    (path) => scripts.get(path)?.shift() ?? "serve",
    async (h2, run, oracle) => {
      const r = await run(["-v", "--stall-timeout", "1", "."]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /5 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
      );
      for (const [m, attempts] of [[big, 3], [small, 2]] as const) {
        const ports = h2.requests.filter((q) => q.path === zipPath(m)).map((q) => q.port);
        assert.equal(ports.length, attempts, `${m.path}: ${ports.length} requests`);
        assert.equal(new Set(ports).size, attempts, `${m.path}: a retry reused a connection`);
      }
      assert.equal(retries(r.stderr), 3);
      assert.deepEqual(await oracle(), []);
    },
  );
});

Deno.test("a redirect to a host --allow-net leaves out fails at once, naming the flag to add", async () => {
  const second = await serveProxy(join(import.meta.dirname!, "no-such-proxy"));
  const box = await makeTinySandbox(2, {
    fault: (_req, path) =>
      path.endsWith(".zip") ? Response.redirect(second.url + encodeURI(path), 302) : undefined,
  });
  try {
    const flags = [
      `--allow-net=${new URL(box.proxy.url).host}`,
      "--allow-read",
      `--allow-write=${box.gomodcache}`,
      "--allow-env",
      "--allow-sys",
    ];
    const r = await runCli(["--continue-on-error", "."], {
      cwd: box.project,
      env: box.env(),
      flags,
    });
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("goprefetch: error: "));
    const host = new URL(second.url).host;
    assert.deepEqual(
      errors.sort(),
      box.specs.map((m) =>
        `goprefetch: error: ${m.path}@${m.version}: needs --allow-net=${host} ` +
        "(the proxy redirected there)"
      ).sort(),
    );
    for (const m of box.specs) {
      const asked = box.proxy.requests.filter((p) => p === zipPath(m)).length;
      assert.equal(asked, 1, `${m.path}: the zip was asked for ${asked} times`);
    }
    assert.deepEqual(second.requests, [], "the denied host was reached");
    if (canCheck("pseudo-terminal", "the redirect on a terminal (no prompt)")) {
      const tty = await runCli(["--continue-on-error", "."], {
        cwd: box.project,
        env: box.env(),
        flags,
        pty: true,
      });
      assert.equal(tty.code, 1, tty.stdout);
      assert.ok(!tty.stdout.includes("Deno requests"), `a prompt on a terminal:\n${tty.stdout}`);
      assert.match(tty.stdout, /needs --allow-net=\S+ \(the proxy redirected there\)/);
      assert.deepEqual(second.requests, [], "the denied host was reached from a terminal");
    }
  } finally {
    await second.close();
    await box.remove();
  }
});

Deno.test("a temp file that cannot be created fails the zip at once, naming the problem and file", async () => {
  const box = await makeTinySandbox(1);
  const client = new ProxyClient({
    entries: parseProxyList(box.proxy.url, ""),
    concurrency: 1,
    retries: 3,
    stallTimeoutMs: 5_000,
    requestTimeoutMs: 10_000,
    budget: new MemoryBudget(0),
    umask: 0o022,
    signal: new AbortController().signal,
  });
  try {
    await Deno.writeTextFile(join(box.tmp, "file"), "not a directory\n");
    const temp = join(box.tmp, "file", "v1.zip.tmp");
    const [m] = box.specs;
    await assert.rejects(client.fetchZip(m.path, m.version, () => temp), (e) => {
      assert.ok(e instanceof LocalError, String(e));
      assert.equal(e.message, `not a directory writing ${temp}`);
      return true;
    });
    assert.deepEqual(box.proxy.requests, [zipPath(m)], "the zip was asked for again");
  } finally {
    client.close();
    await box.remove();
  }
});

Deno.test(needing("mount namespace", {
  name: "a full disk while a zip streams to its temp file fails that module at once, no retry",
  fn: async () => {
    const tmp = await tempDir("goprefetch-enospc-");
    const [project, cache, root] = [join(tmp, "project"), join(tmp, "cache"), join(tmp, "proxy")];
    await Deno.mkdir(project);
    await Deno.mkdir(cache);
    const specs = tinyModules(2, { big: { files: 4, bytes: 2 << 20 } });
    const big = specs[specs.length - 1];
    await writeProxyTree(root, specs);
    await writeTinyProject(project, specs);
    const proxy = await serveProxy(root, { fault: streamZips(() => root) });
    try {
      const script = `mount -t tmpfs -o size=1m tmpfs "$CACHE" || exit 99
"$DENO" run -A --quiet "$CLI_TS" -q --continue-on-error . 2>"$CACHE.stderr"
echo "exit=$?"
find "$CACHE" -name '*.tmp'`;
      const env = goEnv({ home: tmp, gomodcache: cache, goproxy: proxy.url });
      const out = await new Deno.Command("unshare", {
        args: ["-m", "--propagation", "private", "sh", "-c", script],
        cwd: project,
        env: { ...env, CACHE: cache, DENO: Deno.execPath(), CLI_TS, NO_COLOR: "1" },
        clearEnv: true,
      }).output();
      const [status, ...leftovers] = new TextDecoder().decode(out.stdout).trim().split("\n");
      const stderr = await Deno.readTextFile(cache + ".stderr");
      assert.equal(status, "exit=1", stderr);
      const atV = `${cache}/cache/download/${big.path}/@v/`;
      const line =
        `goprefetch: error: ${big.path}@${big.version}: no space left on device writing `;
      assert.match(
        stderr,
        new RegExp(`^${literal(line + atV + big.version)}\\.zip\\d+\\.tmp$`, "m"),
      );
      assert.equal(stderr.split("\n").filter((l) => l.includes("error:")).length, 1, stderr);
      assert.equal(proxy.requests.filter((p) => p === zipPath(big)).length, 1, "retried");
      assert.deepEqual(leftovers, [], "temp files were left");
    } finally {
      await proxy.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    }
  },
}));
