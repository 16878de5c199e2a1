/**
 * The network as a real proxy presents it: HTTPS with HTTP/2 by ALPN, zips redirected to a
 * second origin, and proxies that cannot be reached. A cold run opens few connections per
 * origin whatever -c is, and a proxy whose name does not resolve, whose port refuses
 * connections, whose certificate is not trusted or whose port Deno blocks ends the run with one
 * line naming the proxy and the cause, soon, and without retrying what cannot succeed.
 */
import { makeTinySandbox, type TinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import type { PrefetchReport } from "../../src/engine/report.ts";
import {
  countConnections,
  type Http1TlsFront,
  type Outage,
  serveHttp1Tls,
} from "../support/connection_counter.ts";
import { needing } from "../support/platform.ts";
import { type ProxyServer, serveProxy } from "../support/proxy_server.ts";
import { MOD_TS, runCli } from "../support/cli.ts";
import { serveGoaway } from "../support/goaway_server.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls.ts";

/** The `goprefetch: error:` lines of a run. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("goprefetch: error:"));
}

/** A port on 127.0.0.1 that was just bound and closed, so nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the CLI with `--json` to a file; returns the run, its report and its wall time. */
async function runWithReport(
  box: TinySandbox,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; report: PrefetchReport; ms: number }> {
  const json = join(box.tmp, `report-${crypto.randomUUID()}.json`);
  const started = performance.now();
  const r = await runCli([`--json=${json}`, ...args, "."], { cwd: box.project, env });
  const ms = performance.now() - started;
  const report = JSON.parse(await Deno.readTextFile(json)) as PrefetchReport;
  return { code: r.code, stderr: r.stderr, report, ms };
}

/**
 * Runs the CLI with `args` against the https `proxy`, its CA in `caFile`; asserts exit 0 and every
 * module of `box` fetched.
 */
async function fetchAllOverTls(
  box: TinySandbox,
  proxy: string,
  caFile: string,
  args: string[] = [],
): Promise<{ code: number; stderr: string; report: PrefetchReport; ms: number }> {
  const run = await runWithReport(box, args, box.env({ GOPROXY: proxy, DENO_CERT: caFile }));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.report.totals.fetched, box.specs.length);
  return run;
}

/** Asserts that the run failed as a whole on `line`: exit 1, that one error line, no module failed. */
function assertUnreachable(
  run: { code: number; stderr: string; report: PrefetchReport },
  line: RegExp,
): void {
  assert.equal(run.code, 1, run.stderr);
  const errors = errorLines(run.stderr);
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], line);
  assert.equal(`goprefetch: error: ${run.report.error}`, errors[0]);
  assert.equal(run.report.totals.failed, 0);
  assert.equal(run.report.totals.fetched, 0);
  assert.ok(run.report.modules.every((m) => m.status === "cancelled" && !m.error));
}

/** Runs the CLI at `-c c` on a cache of its own against an https `proxy`; asserts exit 0. */
async function coldTlsRun(
  box: TinySandbox,
  c: number,
  proxy: string,
  caFile: string,
): Promise<{ stderr: string }> {
  const r = await runCli(["-c", String(c), "."], {
    cwd: box.project,
    env: box.env({
      GOPROXY: proxy,
      GOMODCACHE: join(box.tmp, `cache-${c}`),
      DENO_CERT: caFile,
    }),
  });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

/** A TLS proxy whose zips redirect to an HTTP/1.1-only TLS front for a plain storage server. */
interface Http1Redirect {
  box: TinySandbox;
  tls: TestCertificates;
  storage: ProxyServer;
  front: Http1TlsFront;
  main: ProxyServer;
  /** Stops the servers and removes the sandbox. */
  close(): Promise<void>;
}

/**
 * Serves `box`'s modules from a storage server (with `storage`'s options) behind
 * `serveHttp1Tls` (admitting a connection every `admitMs`, with `outage`), and a TLS proxy that
 * redirects every zip there.
 */
async function redirectToHttp1Front(
  box: TinySandbox,
  opts: { storage?: Parameters<typeof serveProxy>[1]; admitMs: number; outage?: Outage },
): Promise<Http1Redirect> {
  const tls = await makeTestCertificates(box.tmp);
  const root = join(box.tmp, "proxy");
  const storage = await serveProxy(root, opts.storage);
  const front = serveHttp1Tls(storage.url, tls, opts.admitMs, opts.outage);
  const main = await serveProxy(root, {
    tls,
    fault: (_req, path) =>
      path.endsWith(".zip") ? Response.redirect(front.url + encodeURI(path), 302) : undefined,
  });
  return {
    box,
    tls,
    storage,
    front,
    main,
    close: async () => {
      await front.close();
      await main.close();
      await storage.close();
      await box.remove();
    },
  };
}

Deno.test("a cold run opens at most 4 connections per HTTP/2 origin at -c 64 and -c 256, redirect origin included", async () => {
  const box = await makeTinySandbox(80);
  const tls = await makeTestCertificates(box.tmp);
  const root = join(box.tmp, "proxy");
  const second = await serveProxy(root, { tls });
  const secondCounted = await countConnections(second.url);
  const main = await serveProxy(root, {
    tls,
    fault: (_req, path) =>
      path.endsWith(".zip")
        ? Response.redirect(secondCounted.url + encodeURI(path), 302)
        : undefined,
  });
  const mainCounted = await countConnections(main.url);
  try {
    let before = { main: 0, second: 0 };
    for (const c of [64, 256]) {
      const r = await coldTlsRun(box, c, mainCounted.url, tls.caFile);
      assert.match(
        r.stderr,
        /80 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
      );
      const opened = {
        main: mainCounted.opened - before.main,
        second: secondCounted.opened - before.second,
      };
      before = { main: mainCounted.opened, second: secondCounted.opened };
      assert.ok(opened.main >= 1 && opened.main <= 4, `-c ${c}: ${opened.main} to the proxy`);
      assert.ok(
        opened.second >= 1 && opened.second <= 4,
        `-c ${c}: ${opened.second} to the redirect origin`,
      );
    }
    assert.equal(second.requests.filter((p) => p.endsWith(".zip")).length, 160);
  } finally {
    await mainCounted.close();
    await secondCounted.close();
    await main.close();
    await second.close();
    await box.remove();
  }
});

/**
 * HTTP/1.1 needs a connection per request in flight, so at most -c of them (lanes); one more
 * is allowed for, should Deno's pool open a second connection for a lane reused too soon.
 */
Deno.test("an HTTP/1.1 proxy gets about -c connections, not one per request", async () => {
  const box = await makeTinySandbox(80, { zipDelayMs: 20 });
  const counted = await countConnections(box.proxy.url);
  try {
    const r = await runCli(["-c", "8", "."], {
      cwd: box.project,
      env: box.env({ GOPROXY: counted.url }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(counted.opened >= 2 && counted.opened <= 9, `${counted.opened} connections`);
  } finally {
    await counted.close();
    await box.remove();
  }
});

/**
 * A redirect origin that speaks HTTP/1.1 only, over TLS, admitting a new connection every
 * 20 ms: requests wait for a lane to come free rather than each opening a connection of its
 * own, so the 80 zips take at most -c and fewer than half as many connections, and nearly
 * every one opened carries a request (besides the ALPN probe). Deno's shared pool opened one
 * per zip here (79 at -c 256), and in the benchmark 166 of which 29 were used.
 */
Deno.test("an HTTP/1.1 redirect origin over TLS gets at most -c connections, nearly all used", async () => {
  const net = await redirectToHttp1Front(await makeTinySandbox(80), {
    storage: { delayMs: 5 },
    admitMs: 20,
  });
  const { front } = net;
  try {
    for (const c of [16, 256]) {
      const [opened, used] = [front.opened, front.used];
      await coldTlsRun(net.box, c, net.main.url, net.tls.caFile);
      const got = { opened: front.opened - opened, used: front.used - used };
      assert.ok(got.opened <= Math.min(c + 2, 41), `-c ${c}: ${JSON.stringify(got)}`);
      assert.ok(got.opened - got.used <= 2, `-c ${c}: spare connections: ${JSON.stringify(got)}`);
    }
  } finally {
    await net.close();
  }
});

/**
 * Once the ALPN probe has connected and found HTTP/1.1, the requests waiting for the redirect
 * origin open lanes at once instead of waiting for the first zip's response: a round trip
 * sooner across a real network, where each new connection costs two more. The first zip is held
 * for a second; half-way through, more connections than the first and the probe are open.
 */
Deno.test("an HTTP/1.1 redirect origin over TLS gets its lanes before the first response", async () => {
  let openedMidway: Promise<number> | undefined;
  const net: Http1Redirect = await redirectToHttp1Front(await makeTinySandbox(20), {
    storage: {
      fault: async (_req, path) => {
        if (!path.endsWith(".zip") || openedMidway) return undefined;
        openedMidway = new Promise((resolve) => setTimeout(() => resolve(net.front.opened), 500));
        await openedMidway;
        await new Promise((resolve) => setTimeout(resolve, 500));
        return undefined;
      },
    },
    admitMs: 0,
  });
  try {
    await coldTlsRun(net.box, 64, net.main.url, net.tls.caFile);
    const midway = await openedMidway;
    assert.ok(
      midway !== undefined && midway > 2,
      `${midway} connections before the first response`,
    );
  } finally {
    await net.close();
  }
});

/**
 * The lanes opened at once after the probe fail at once when the front stops listening for a
 * moment: that is one connect failure in a row, backed off and retried, not one per lane, which
 * would spend every retry in the same millisecond and give the origin up.
 */
Deno.test("lanes refused together count as one connect failure, and the run recovers", async () => {
  let firstZip: Promise<void> | undefined;
  const net = await redirectToHttp1Front(await makeTinySandbox(20), {
    storage: {
      fault: (_req, path) => {
        if (!path.endsWith(".zip") || firstZip) return undefined;
        firstZip = new Promise((resolve) => setTimeout(resolve, 300));
        return firstZip.then(() => undefined);
      },
    },
    admitMs: 0,
    outage: { after: 2, ms: 100 },
  });
  try {
    await coldTlsRun(net.box, 64, net.main.url, net.tls.caFile);
    assert.equal(net.storage.requests.filter((p) => p.endsWith(".zip")).length, 20);
  } finally {
    await net.close();
  }
});

Deno.test("an HTTP/1.1 proxy that redirects zips to itself works at -c 1", async () => {
  const box = await makeTinySandbox(5, {
    fault: (req, path) =>
      path.endsWith(".zip") && !new URL(req.url).search
        ? Response.redirect(`${new URL(req.url).origin}${encodeURI(path)}?again`, 302)
        : undefined,
  });
  try {
    const started = performance.now();
    const r = await runCli(["-c", "1", "."], { cwd: box.project, env: box.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /5 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/);
    assert.ok(performance.now() - started < 10_000, "the redirect waited for its own lane");
  } finally {
    await box.remove();
  }
});

Deno.test("a refused port: one line with the cause, retried with backoff, then the run ends", async () => {
  const box = await makeTinySandbox(30);
  try {
    const port = await closedPort();
    const proxy = `https://127.0.0.1:${port}`;
    const run = await runWithReport(box, [], box.env({ GOPROXY: proxy }));
    assertUnreachable(
      run,
      new RegExp(
        `^goprefetch: error: proxy ${proxy} unreachable: dial tcp 127\\.0\\.0\\.1:${port}: ` +
          "connection refused; check that the proxy is running",
      ),
    );
    assert.ok(run.ms < 20_000, `the run took ${run.ms} ms`);
  } finally {
    await box.remove();
  }
});

/**
 * A front end that closes connections during the TLS handshake (restarting, shedding load) is
 * not a proxy that does not speak TLS: the handshakes cut short are retried, and the run goes on.
 */
Deno.test("connections closed during the TLS handshake are retried, not taken for a proxy without TLS", async () => {
  const box = await makeTinySandbox(20);
  const tls = await makeTestCertificates(box.tmp);
  const proxy = await serveProxy(box.proxyRoot, { tls });
  const flaky = await countConnections(proxy.url, {
    route: (n) => n <= 3 ? undefined : proxy.url,
  });
  try {
    const run = await fetchAllOverTls(box, flaky.url, tls.caFile);
    assert.ok(run.report.modules.some((m) => m.retries > 0), run.stderr);
  } finally {
    await flaky.close();
    await proxy.close();
    await box.remove();
  }
});

/**
 * The probe may see another server than fetch reaches (a balancer with unlike backends, a
 * forward proxy): when the HTTP/2-only connection is refused (here by a backend whose ALPN
 * offers only HTTP/1.1), the origin goes back to the client that negotiates, and the run goes on.
 * The front sends its first two connections (the probe's and the first request's) to an HTTP/2
 * server, the others to an HTTP/1.1-only one. At `-c 1` no second request is under way before
 * the probe answers, so no HTTP/2-only connection is opened early: the one opened after the probe
 * said HTTP/2 is refused.
 */
Deno.test("an HTTP/2-only connection refused after the probe saw HTTP/2: the origin negotiates again", async () => {
  const box = await makeTinySandbox(20);
  const tls = await makeTestCertificates(box.tmp);
  const h2 = await serveProxy(box.proxyRoot, { tls });
  const h1 = serveHttp1Tls(box.proxy.url, tls, 0);
  const front = await countConnections(h2.url, {
    route: (n) => n <= 2 ? h2.url : h1.url,
  });
  try {
    await fetchAllOverTls(box, front.url, tls.caFile, ["-c", "1"]);
  } finally {
    await front.close();
    await h1.close();
    await h2.close();
    await box.remove();
  }
});

/**
 * Across a network, the probe's answer comes a round trip or two after the start, and a
 * connection opened then would cost as many again: the one that carries the requests is opened
 * with the second request, before any server has answered.
 */
Deno.test("the requests go on an HTTP/2-only connection opened before the probe answered", async () => {
  const box = await makeTinySandbox(20);
  const tls = await makeTestCertificates(box.tmp);
  const proxy = await serveProxy(box.proxyRoot, { tls });
  const counted = await countConnections(proxy.url, { delayMs: 150 });
  try {
    await fetchAllOverTls(box, counted.url, tls.caFile);
    assert.ok(counted.opened <= 3, `${counted.opened} connections`);
    const busiest = counted.connections.reduce((a, b) => b.bytesUp > a.bytesUp ? b : a);
    assert.ok(
      busiest.acceptedAt < counted.firstAnswerAt!,
      `the busiest connection was opened ${busiest.acceptedAt - counted.firstAnswerAt!} ms ` +
        "after the first answer",
    );
  } finally {
    await counted.close();
    await proxy.close();
    await box.remove();
  }
});

Deno.test("an HTTP/1.1-only https proxy: the HTTP/2-only connection tried at the start costs no retry", async () => {
  const box = await makeTinySandbox(20);
  const tls = await makeTestCertificates(box.tmp);
  const front = serveHttp1Tls(box.proxy.url, tls, 0);
  try {
    const run = await fetchAllOverTls(box, front.url, tls.caFile);
    assert.deepEqual(run.report.modules.filter((m) => m.retries > 0), []);
    assert.equal(
      front.opened - front.used,
      2,
      `${front.opened} connections, ${front.used} used: unused should be the probe's and the ` +
        "HTTP/2-only one's, whose handshake the front refuses",
    );
  } finally {
    await front.close();
    await box.remove();
  }
});

Deno.test("with | a refused proxy is passed over with one warning; with , it ends the run", async () => {
  const box = await makeTinySandbox(10);
  try {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const past = await runWithReport(box, [], box.env({ GOPROXY: `${dead}|${box.proxy.url}` }));
    assert.equal(past.code, 0, past.stderr);
    assert.equal(past.report.totals.fetched, 10);
    assert.equal(past.report.error, undefined);
    const warnings = past.report.warnings.filter((w) => w.includes("unreachable"));
    assert.deepEqual(warnings, [
      `proxy ${dead} unreachable: dial tcp ${dead.slice(7)}: connection refused; check that ` +
      "the proxy is running and that GOPROXY names its host and port; GOPROXY went past it to " +
      "the next proxy",
    ]);

    const asked = box.proxy.requests.length;
    const stop = await runWithReport(box, [], {
      ...box.env({ GOPROXY: `${dead},${box.proxy.url}` }),
      GOMODCACHE: join(box.tmp, "other-cache"),
    });
    assertUnreachable(stop, /^goprefetch: error: proxy http:\/\/127\.0\.0\.1:\d+ unreachable: /);
    assert.equal(box.proxy.requests.length, asked, "the proxy after , was asked");
  } finally {
    await box.remove();
  }
});

Deno.test("an untrusted certificate: one line naming DENO_CERT, no retry", async () => {
  const box = await makeTinySandbox(30);
  const tls = await makeTestCertificates(box.tmp);
  const proxy = await serveProxy(join(box.tmp, "proxy"), { tls });
  const counted = await countConnections(proxy.url);
  try {
    const run = await runWithReport(box, [], box.env({ GOPROXY: counted.url }));
    assertUnreachable(
      run,
      new RegExp(
        `^goprefetch: error: proxy ${counted.url} unreachable: TLS certificate of ` +
          `127\\.0\\.0\\.1:\\d+ not accepted: UnknownIssuer; .*DENO_CERT=`,
      ),
    );
    assert.ok(
      counted.opened <= 3,
      `${counted.opened} connections: a permanent failure was retried (3: the first request's, ` +
        "the second's on an HTTP/2-only client, and the ALPN probe's)",
    );
    assert.deepEqual(proxy.requests, []);
    assert.ok(run.ms < 10_000, `the run took ${run.ms} ms`);
  } finally {
    await counted.close();
    await proxy.close();
    await box.remove();
  }
});

Deno.test("a port Deno's fetch blocks: one line saying so, at once", async () => {
  const box = await makeTinySandbox(5);
  try {
    const run = await runWithReport(box, [], box.env({ GOPROXY: "http://127.0.0.1:6000" }));
    assertUnreachable(
      run,
      /^goprefetch: error: proxy http:\/\/127\.0\.0\.1:6000 unreachable: port 6000 is blocked by Deno's fetch; serve the proxy on another port$/,
    );
    assert.ok(run.ms < 10_000, `the run took ${run.ms} ms`);
  } finally {
    await box.remove();
  }
});

Deno.test(needing("network namespace", {
  name: "a name that does not resolve: one line with go's 'no such host', no retry, exit 1 soon",
  fn: async () => {
    const box = await makeTinySandbox(30);
    try {
      // A network namespace of its own, with a DNS server on its loopback answering NXDOMAIN:
      // no query leaves the machine.
      const script = `ip link set lo up || exit 97
printf 'nameserver 127.0.0.1\\n' > "$TMP/resolv.conf"
mount --bind "$TMP/resolv.conf" /etc/resolv.conf || exit 98
"$DENO" run -A --quiet "$DNS" "$TMP/dns.ready" & dns=$!
for i in $(seq 100); do [ -e "$TMP/dns.ready" ] && break; sleep 0.1; done
start=$(date +%s%N)
"$DENO" run -A --quiet "$MOD_TS" --json="$TMP/report.json" . 2>"$TMP/stderr"
code=$?
end=$(date +%s%N)
kill $dns
echo "$code $(( (end - start) / 1000000 ))"`;
      const env = box.env({ GOPROXY: "https://nonexistent.invalid" });
      const out = await new Deno.Command("unshare", {
        args: ["-m", "-n", "--propagation", "private", "sh", "-c", script],
        cwd: box.project,
        env: {
          ...env,
          TMP: box.tmp,
          DENO: Deno.execPath(),
          MOD_TS,
          DNS: join(import.meta.dirname!, "..", "support", "nxdomain_dns.ts"),
          NO_COLOR: "1",
        },
        clearEnv: true,
      }).output();
      const [code, ms] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
      const stderr = await Deno.readTextFile(join(box.tmp, "stderr"));
      const report = JSON.parse(await Deno.readTextFile(join(box.tmp, "report.json")));
      assertUnreachable(
        { code, stderr, report },
        /^goprefetch: error: proxy https:\/\/nonexistent\.invalid unreachable: lookup nonexistent\.invalid: no such host; check the host name in GOPROXY and this machine's DNS$/,
      );
      assert.ok(ms < 10_000, `the run took ${ms} ms`);
    } finally {
      await box.remove();
    }
  },
}));

/**
 * Front ends end an HTTP/2 connection after so many requests (GOAWAY). A client that learns only
 * from ALPN that a connection can be shared then opens one for every request waiting (Deno's
 * fetch did: 52–178 connections here); an HTTP/2-only client reconnects once per GOAWAY.
 */
Deno.test("a proxy that sends GOAWAY every 20 requests gets a connection per GOAWAY, not one per request waiting", async () => {
  const box = await makeTinySandbox(80);
  const tls = await makeTestCertificates(box.tmp);
  const server = await serveGoaway(box.proxyRoot, tls, 20);
  const counted = await countConnections(server.url);
  try {
    for (const c of [64, 256]) {
      const before = counted.opened;
      const r = await coldTlsRun(box, c, counted.url, tls.caFile);
      assert.match(
        r.stderr,
        /80 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
      );
      // 240 requests (a .mod, .info and .zip per module): at most 12 GOAWAYs, besides the
      // probe and the connection opened before the probe's answer.
      const opened = counted.opened - before;
      assert.ok(opened <= 14, `-c ${c}: ${opened} connections`);
    }
  } finally {
    await counted.close();
    await server.close();
    await box.remove();
  }
});
