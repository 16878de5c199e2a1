/**
 * goprefetch's benchmark driver: for each set and network profile, runs every contender on a
 * fresh empty GOMODCACHE against a local proxy (proxy.ts, its own process), in an order that
 * alternates round by round, gates each result with the go command, and reports a Markdown
 * table on stdout and JSON to a file. One extra goprefetch row runs under the lag probe
 * (lag_probe.ts), which measures its main thread's event-loop lag; the headline rows run
 * goprefetch alone, and the reference row is goprefetch at its default -c (src/engine/defaults.ts).
 *
 * The TLS profiles (tls-near, tls-cross-region) serve HTTPS with a CA made at start
 * (tests/support/tls.ts) and charge real connection costs (relay.ts); the table shows each
 * run's connections per origin. The Rust go-prefetch needs a second build that trusts the CA on those profiles.
 *
 * Run: `deno task bench [--quick] [--runs N] [--sets a,b] [--profiles p,q] [--json FILE]
 * [--contenders kind,kind] [--concurrency 8,16,...] [--tmp DIR]`, or `deno task bench --toolchain
 * [--runs N] [--tmp DIR]` for the toolchain step's time and event-loop lag (toolchain_lag.ts).
 * - `--quick`: tls-near, kubernetes, one run of the reference, go and the network floor.
 * - `--profiles`: default tls-near, tls-cross-region and far (plain HTTP, 100 Mbit/s); the
 *   plain-HTTP local, near and cross-region can be named too (proxy.ts).
 * - `--sets`: default every set of mirror.ts; `--runs`: default 5.
 * - `--contenders`: kinds goprefetch, go, rust, net-floor, disk-floor, goprefetch-file.
 * - `--concurrency`: the -c values of the goprefetch rows (default 8,16,32,64); the footer
 *   names the best of each set and profile. The default -c always has its row.
 * - `--tmp`: where the fresh caches go (default: the system's temp dir); on a machine whose
 *   disk bounds every contender, `--tmp /dev/shm` shows the tools themselves.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  commandFor,
  type Contender,
  goEnv,
  isLocal,
  measure,
  type RunTarget,
} from "./contenders.ts";
import { checkCache, writeGateModule } from "./gate.ts";
import type { LagStats } from "./lag_probe.ts";
import { ensureMirror, type Mirror, mirrorRoot, proxyTree, SETS } from "./mirror.ts";
import { PROFILES, type ProxyStats, type ProxyUrls } from "./proxy.ts";
import { CONNECTION_BURST, CONNECTIONS_PER_SECOND, HANDSHAKE_RTTS } from "./relay.ts";
import { type Extra, footer, markdown, type RunRecord, summarize } from "./report.ts";
import { makeTestCertificates, type TestCertificates } from "../tests/support/tls.ts";
import { DEFAULTS } from "../src/engine/defaults.ts";
import { removeTree } from "../src/util/files.ts";
import { benchToolchain, tmpDir, toolchainTable } from "./toolchain_lag.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const CLI_TS = join(BENCH_DIR, "..", "cli.ts");
const DEFAULT_SWEEP = [8, 16, 32, 64];

const DEFAULT_C = DEFAULTS.concurrency;
const REFERENCE = `goprefetch -c ${DEFAULT_C}`;

/** Every contender: goprefetch at each -c of `sweep` (and the default), then the others. */
function contendersFor(sweep: number[]): Contender[] {
  const cs = [...new Set([...sweep, DEFAULT_C])].sort((a, b) => a - b);
  return [
    ...cs.map((c): Contender => ({
      name: `goprefetch -c ${c}`,
      kind: "goprefetch",
      concurrency: c,
    })),
    { name: `${REFERENCE}, lag probe`, kind: "goprefetch", concurrency: DEFAULT_C, lagProbe: true },
    { name: "go mod download", kind: "go", concurrency: 0 },
    { name: `go-prefetch (Rust) -c ${DEFAULT_C}`, kind: "rust", concurrency: DEFAULT_C },
    { name: `network floor -c ${DEFAULT_C}`, kind: "net-floor", concurrency: DEFAULT_C },
    {
      name: "CPU+disk floor (inflate, hash, write), 2 workers",
      kind: "disk-floor",
      concurrency: 2,
    },
    {
      name: `${REFERENCE}, no network (file://)`,
      kind: "goprefetch-file",
      concurrency: DEFAULT_C,
    },
  ];
}

/** The quick check's contenders: the reference, go and the network floor. */
const isQuick = (c: Contender) => c.name === REFERENCE || c.kind === "go" || c.kind === "net-floor";

const log = (msg: string) => console.error(`bench: ${msg}`);

/** A running proxy process and where it listens. */
interface ProxyProcess extends ProxyUrls {
  child: Deno.ChildProcess;
}

async function startProxy(
  mirror: Mirror,
  profile: string,
  certs: TestCertificates | null,
): Promise<ProxyProcess> {
  const tls = PROFILES[profile].tls;
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      join(BENCH_DIR, "proxy.ts"),
      proxyTree(mirror),
      profile,
      ...(tls && certs ? [certs.certFile, certs.keyFile] : []),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Proxy for ${mirror.set.name} exited before listening`);
    text += value;
  }
  reader.releaseLock();
  const urls = JSON.parse(text.split("\n")[0]) as ProxyUrls;
  const scheme = tls ? "https" : "http";
  if (!urls.url.startsWith(`${scheme}://127.0.0.1:`)) {
    throw new Error(`Proxy is not ${scheme} on loopback: ${urls.url}`);
  }
  return { ...urls, child };
}

async function stopProxy(p: ProxyProcess): Promise<ProxyStats> {
  const stats = await (await fetch(`${p.control}/_stats`)).json() as ProxyStats;
  p.child.kill("SIGTERM");
  await p.child.status;
  await p.child.stdout.cancel().catch(() => {});
  return stats;
}

/** The Rust go-prefetch builds: as published, and with native roots (trusts SSL_CERT_FILE). */
interface RustBuilds {
  /** The published build (webpki roots), for the plain profiles. */
  plain: string | null;
  /** The native-roots build, for the TLS profiles. */
  roots: string | null;
  /** What the report should say about them. */
  notes: string[];
}

/**
 * Builds the Rust go-prefetch into the bench cache, once: as published, and with reqwest's
 * native roots, which read SSL_CERT_FILE, so that it trusts the bench CA. The published build
 * trusts only the webpki roots; on the TLS profiles it stands in (and fails) when the other
 * cannot be built, and the report says so.
 */
async function rustBuilds(tlsProfiles: boolean): Promise<RustBuilds> {
  const plain = await cargoInstall("rust-go-prefetch", []);
  const notes: string[] = [];
  if (!plain.bin) notes.push(`go-prefetch (Rust) not run: ${plain.why}`);
  if (!tlsProfiles || !plain.bin) return { plain: plain.bin, roots: null, notes };
  const features = ["--features", "reqwest/rustls-tls-native-roots"];
  const roots = await cargoInstall("rust-go-prefetch-roots", features);
  notes.push(
    roots.bin
      ? "go-prefetch (Rust) on the TLS profiles: built with " +
        `\`${features.join(" ")}\` so that it trusts the bench CA through SSL_CERT_FILE`
      : "go-prefetch (Rust) on the TLS profiles: the published build, which trusts only the " +
        `webpki roots and so not the bench CA: the native-roots build failed: ${roots.why}`,
  );
  return { plain: plain.bin, roots: roots.bin ?? plain.bin, notes };
}

/** `cargo install go-prefetch@0.1.0` into the bench cache's `dir`, unless it is there. */
async function cargoInstall(
  dir: string,
  extra: string[],
): Promise<{ bin: string | null; why: string }> {
  const root = join(mirrorRoot(), dir);
  const bin = join(root, "bin", "go-prefetch");
  if (await Deno.stat(bin).then(() => true, () => false)) return { bin, why: "" };
  const args = ["install", "go-prefetch", "--version", "0.1.0", ...extra, "--root", root];
  log(`building the Rust go-prefetch: cargo ${args.join(" ")}`);
  try {
    const out = await new Deno.Command("cargo", { args, stdout: "null", stderr: "piped" })
      .output();
    if (out.success) return { bin, why: "" };
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    log(`cargo install failed: ${tail}`);
    return { bin: null, why: `cargo install failed: ${tail}` };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return { bin: null, why: "cargo is not installed" };
  }
}

/** Everything one contender run needs, laid out afresh under `work`. */
async function prepare(mirror: Mirror, work: string, rustBin: string | null): Promise<RunTarget> {
  removeTree(work);
  const sumDir = join(work, "project");
  await Deno.mkdir(sumDir, { recursive: true });
  await Deno.copyFile(join(mirror.projectDir, "go.mod"), join(sumDir, "go.mod"));
  await Deno.copyFile(mirror.sumFile, join(sumDir, "go.sum"));
  const fileList = join(mirrorRoot(), mirror.set.name, "files.txt");
  await Deno.writeTextFile(fileList, mirror.files.join("\n") + "\n");
  let gateDir = null;
  if (!mirror.buildsAlone) {
    gateDir = join(work, "gomod");
    await writeGateModule(mirror, gateDir);
  }
  const modCache = join(work, "modcache");
  const lagFile = join(work, "lag.json");
  return { mirror, sumDir, gateDir, modCache, proxyUrl: "", fileList, rustBin, lagFile };
}

/** The lag probe's figures, or null when the run wrote none (it failed before the end). */
async function readLag(file: string): Promise<LagStats | null> {
  try {
    return JSON.parse(await Deno.readTextFile(file)) as LagStats;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** What every run of one bench invocation shares. */
interface Bench {
  /** The scratch directory runs are laid out in. */
  work: string;
  /** The Rust go-prefetch builds. */
  rust: RustBuilds;
  /** The bench CA and server certificate, when a TLS profile is run. */
  certs: TestCertificates | null;
}

async function runOne(
  c: Contender,
  mirror: Mirror,
  profile: string,
  round: number,
  bench: Bench,
): Promise<{ record: RunRecord; target: RunTarget }> {
  const tls = PROFILES[profile].tls;
  const t = await prepare(mirror, bench.work, tls ? bench.rust.roots : bench.rust.plain);
  const proxy = isLocal(c.kind) ? null : await startProxy(mirror, profile, bench.certs);
  t.proxyUrl = proxy?.url ?? `file://${proxyTree(mirror)}`;
  const { argv, cwd } = commandFor(c, t);
  const caFile = tls ? bench.certs?.caFile ?? null : null;
  const m = await measure(argv, cwd, goEnv(t.modCache, proxy ? t.proxyUrl : "off", caFile));
  const lag = c.lagProbe ? await readLag(t.lagFile) : null;
  const stats = proxy ? await stopProxy(proxy) : null;
  const record = (ok: boolean, detail: string) => ({
    target: t,
    record: {
      set: mirror.set.name,
      profile,
      contender: c.name,
      round,
      wallMs: m.wallMs,
      cpuS: m.cpuS,
      sysS: m.sysS,
      maxRssKiB: m.maxRssKiB,
      bytes: stats?.bytes ?? mirror.bytes,
      requests: stats?.requests ?? 0,
      connections: stats?.connections ?? null,
      usedConnections: stats?.used ?? null,
      code: m.code,
      ok,
      detail,
      lag,
    },
  });
  if (m.code !== 0) return record(false, `exit ${m.code}: ${m.stderrTail}`);
  if (c.kind.endsWith("floor")) return record(true, "");
  const gate = await checkCache(mirror, t.modCache, join(bench.work, "gate"));
  return record(gate.ok, gate.detail);
}

/** Reruns goprefetch on the cache a full run just filled: it should do nothing, quickly. */
async function noOpRerun(t: RunTarget, profile: string, bench: Bench): Promise<Extra> {
  const proxy = await startProxy(t.mirror, profile, bench.certs);
  const c: Contender = { name: REFERENCE, kind: "goprefetch", concurrency: DEFAULT_C };
  const { argv, cwd } = commandFor(c, { ...t, proxyUrl: proxy.url });
  const caFile = PROFILES[profile].tls ? bench.certs?.caFile ?? null : null;
  const m = await measure(argv, cwd, goEnv(t.modCache, proxy.url, caFile));
  const stats = await stopProxy(proxy);
  const failed = m.code !== 0 || stats.requests > 0
    ? ` FAILED: exit ${m.code}, ${stats.requests} requests ${m.stderrTail}`
    : "";
  const what = `goprefetch no-op rerun, full cache, ${t.mirror.set.name} ${profile}${failed}`;
  return { what: `${what} (target < 200 ms)`, wallMs: m.wallMs, maxRssKiB: m.maxRssKiB };
}

/**
 * Times `goprefetch verify` and `go mod verify` on the cache a full run just filled, offline,
 * each the median of three runs (the cache is in the page cache for both).
 */
async function verifyPair(t: RunTarget): Promise<Extra[]> {
  const env = goEnv(t.modCache, "off", null);
  const tools: [string, string[], string][] = [
    ["goprefetch verify", ["deno", "run", "-A", CLI_TS, "verify", "-q", t.sumDir], t.sumDir],
    ["go mod verify", ["go", "mod", "verify"], t.gateDir ?? t.sumDir],
  ];
  const extras: Extra[] = [];
  for (const [name, argv, cwd] of tools) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await measure(argv, cwd, env));
    runs.sort((a, b) => a.wallMs - b.wallMs);
    const m = runs[1];
    const failed = m.code === 0 ? "" : ` FAILED: exit ${m.code} ${m.stderrTail}`;
    extras.push({
      what: `${name}, full cache, ${t.mirror.set.name}${failed}`,
      wallMs: m.wallMs,
      maxRssKiB: m.maxRssKiB,
    });
  }
  return extras;
}

/**
 * Runs `GOPROXY=off go list -m all` on the cache goprefetch filled: it needs the `.info` of
 * every build-list module, which goprefetch writes and `go mod download` does not. Only for a
 * project that builds alone: elsewhere go cannot load the graph without its local replacements.
 */
async function listCheck(t: RunTarget): Promise<Extra[]> {
  if (!t.mirror.buildsAlone) return [];
  const m = await measure(
    ["go", "list", "-m", "all"],
    t.mirror.projectDir,
    goEnv(t.modCache, "off", null),
  );
  const verdict = m.code === 0 ? "ok" : `FAILED: exit ${m.code} ${m.stderrTail}`;
  return [{
    what: `GOPROXY=off go list -m all on goprefetch's cache, ${t.mirror.set.name}: ${verdict}`,
    wallMs: m.wallMs,
    maxRssKiB: m.maxRssKiB,
  }];
}

function parseList(value: string | undefined, fallback: string[], known: string[]): string[] {
  const list = value ? value.split(",").filter((x) => x !== "") : fallback;
  for (const x of list) {
    if (!known.includes(x)) {
      throw new Error(`Unknown name ${x}: expected one of ${known.join(", ")}`);
    }
  }
  return list;
}

/** A list of positive whole numbers, e.g. `8,16,32`. */
function parseNumbers(value: string, what: string): number[] {
  const list = value.split(",").filter((x) => x !== "").map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${what} wants positive whole numbers separated by commas, got "${value}"`);
  }
  return list;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      runs: { type: "string" },
      sets: { type: "string" },
      profiles: { type: "string" },
      json: { type: "string" },
      contenders: { type: "string" },
      concurrency: { type: "string" },
      tmp: { type: "string" },
      toolchain: { type: "boolean" },
    },
  });
  if (values.toolchain) {
    const runs = await benchToolchain(Number(values.runs ?? 3), values.tmp ?? tmpDir());
    console.log(toolchainTable(runs));
    return;
  }
  const quick = values.quick ?? false;
  const setNames = parseList(
    values.sets,
    quick ? ["kubernetes"] : SETS.map((s) => s.name),
    SETS.map((s) => s.name),
  );
  const profiles = parseList(
    values.profiles,
    quick ? ["tls-near"] : ["tls-near", "tls-cross-region", "far"],
    Object.keys(PROFILES),
  );
  const runs = Number(values.runs ?? (quick ? 1 : 5));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer`);
  const jsonFile = values.json ?? join(BENCH_DIR, "results", "latest.json");
  const sweep = values.concurrency
    ? parseNumbers(values.concurrency, "--concurrency")
    : DEFAULT_SWEEP;
  const all = contendersFor(sweep);
  const kinds = parseList(
    values.contenders,
    [...new Set(all.map((c) => c.kind))],
    all.map((c) => c.kind),
  );
  const contenders = all.filter((c) => kinds.includes(c.kind) && (!quick || isQuick(c)));

  const mirrors = [];
  for (const name of setNames) {
    mirrors.push(await ensureMirror(SETS.find((s) => s.name === name)!, log));
  }
  const anyTls = profiles.some((p) => PROFILES[p].tls);
  const rust = contenders.some((c) => c.kind === "rust")
    ? await rustBuilds(anyTls)
    : { plain: null, roots: null, notes: [] };
  const active = contenders.filter((c) => c.kind !== "rust" || rust.plain);
  const version = ["deno", "run", "-A", CLI_TS, "--version"];
  await measure(version, BENCH_DIR, Deno.env.toObject());
  const startup = await measure(version, BENCH_DIR, Deno.env.toObject());
  const extras: Extra[] = [{
    what: "goprefetch --version (Deno startup and module load)",
    wallMs: startup.wallMs,
    maxRssKiB: startup.maxRssKiB,
  }];

  const work = await Deno.makeTempDir({ prefix: "goprefetch-bench-", dir: values.tmp });
  // Not under --tmp: the proxy may not read /dev/shm without --allow-all.
  const caDir = anyTls ? await Deno.makeTempDir({ prefix: "goprefetch-bench-ca-" }) : null;
  const certs = caDir ? await makeTestCertificates(caDir) : null;
  const bench: Bench = { work: join(work, "run"), rust, certs };
  const records: RunRecord[] = [];
  for (const mirror of mirrors) {
    let verified = false;
    for (const profile of profiles) {
      let noOpDone = false;
      for (let round = 0; round < runs; round++) {
        const order = round % 2 === 0 ? active : [...active].reverse();
        for (const c of order) {
          const { record: r, target } = await runOne(c, mirror, profile, round, bench);
          const verdict = r.ok ? "" : ` FAILED ${r.detail}`;
          const [c1, c2] = [r.connections, r.usedConnections];
          const conns = c1 && c2
            ? `, ${c1.main}+${c1.zip} connections (${c2.main}+${c2.zip} used)`
            : "";
          log(
            `${r.set} ${profile} #${round} ${c.name}: ${(r.wallMs / 1000).toFixed(2)} s` +
              `${conns}${verdict}`,
          );
          records.push(r);
          if (c.name === REFERENCE && r.ok && !noOpDone) {
            extras.push(await noOpRerun(target, profile, bench));
            if (!verified) extras.push(...await verifyPair(target), ...await listCheck(target));
            noOpDone = verified = true;
          }
        }
      }
    }
  }
  removeTree(work);
  if (caDir) await Deno.remove(caDir, { recursive: true });

  const rows = summarize(records, REFERENCE);
  const sets = mirrors.map(({ files: _files, set, ...m }) => ({ ...set, ...m }));
  const goVersion = await new Deno.Command("go", { args: ["env", "GOVERSION"] }).output();
  const localGo = new TextDecoder().decode(goVersion.stdout).trim();
  const notes = [
    ...rust.notes,
    ...(anyTls
      ? [
        `TLS profiles: new connections cost ${HANDSHAKE_RTTS} RTTs and are admitted at ` +
        `${CONNECTIONS_PER_SECOND}/s per origin (burst ${CONNECTION_BURST}); connections are ` +
        "counted main+zip as the relay accepted them, and in parentheses those that carried " +
        "a request when fewer (a client may open a connection it then does not use)",
      ]
      : []),
  ];
  const foot = footer({ sets, extras, notes, rows, runs: records, reference: REFERENCE, localGo });
  console.log(markdown(rows) + "\n\n" + foot);
  await Deno.mkdir(join(jsonFile, ".."), { recursive: true });
  const json = { date: new Date().toISOString(), runs, sets, rows, extras, notes, records };
  await Deno.writeTextFile(jsonFile, JSON.stringify(json, null, 1) + "\n");
  log(`JSON written to ${jsonFile}`);
}

if (import.meta.main) await main();
