/**
 * goprefetch's benchmark driver: for each set and network profile, runs every contender on a
 * fresh empty GOMODCACHE against a local proxy (its own process), in an order that alternates
 * round by round, gates each result with the go command, and reports a Markdown table on stdout
 * and JSON to a file. One extra goprefetch row runs under the lag probe (lag_probe.ts), which
 * measures its main thread's event-loop lag; the headline rows run goprefetch alone.
 *
 * Run: `deno task bench [--quick] [--runs N] [--sets a,b] [--profiles p,q] [--json FILE]
 * [--contenders kind,kind] [--tmp DIR]` (kinds: goprefetch, go, rust, net-floor, disk-floor,
 * goprefetch-file). `--tmp` is where the fresh caches go (default: the system's temp dir); on a
 * machine whose disk bounds every contender, `--tmp /dev/shm` shows the tools themselves.
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
  type Measurement,
  type RunTarget,
} from "./contenders.ts";
import { checkCache, writeGateModule } from "./gate.ts";
import type { LagStats } from "./lag_probe.ts";
import { ensureMirror, type Mirror, mirrorRoot, proxyTree, SETS } from "./mirror.ts";
import { PROFILES } from "./proxy.ts";
import { type Extra, footer, markdown, type RunRecord, summarize } from "./report.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const CLI_TS = join(BENCH_DIR, "..", "cli.ts");
const REFERENCE = "goprefetch -c 64";

const FULL_CONTENDERS: Contender[] = [
  ...[8, 16, 32, 64].map((c): Contender => ({
    name: `goprefetch -c ${c}`,
    kind: "goprefetch",
    concurrency: c,
  })),
  { name: "goprefetch -c 64, lag probe", kind: "goprefetch", concurrency: 64, lagProbe: true },
  { name: "go mod download", kind: "go", concurrency: 0 },
  { name: "go-prefetch (Rust) -c 64", kind: "rust", concurrency: 64 },
  { name: "network floor -c 64", kind: "net-floor", concurrency: 64 },
  { name: "CPU+disk floor (inflate, hash, write), 2 workers", kind: "disk-floor", concurrency: 2 },
  { name: "goprefetch -c 64, no network (file://)", kind: "goprefetch-file", concurrency: 64 },
];

const QUICK_CONTENDERS = FULL_CONTENDERS.filter((c) =>
  c.name === REFERENCE || c.lagProbe || c.kind === "go" || c.kind === "net-floor"
);

const log = (msg: string) => console.error(`bench: ${msg}`);

/** A running proxy process and its URL. */
interface ProxyProcess {
  url: string;
  child: Deno.ChildProcess;
}

async function startProxy(mirror: Mirror, profile: string): Promise<ProxyProcess> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      join(BENCH_DIR, "proxy.ts"),
      proxyTree(mirror),
      profile,
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
  const { url } = JSON.parse(text.split("\n")[0]) as { url: string };
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`Proxy is not on loopback: ${url}`);
  return { url, child };
}

async function stopProxy(p: ProxyProcess): Promise<{ requests: number; bytes: number }> {
  const stats = await (await fetch(`${p.url}/_stats`)).json();
  p.child.kill("SIGTERM");
  await p.child.status;
  await p.child.stdout.cancel().catch(() => {});
  return stats;
}

async function removeTree(dir: string): Promise<void> {
  await new Deno.Command("chmod", { args: ["-R", "u+w", dir], stderr: "null" }).output();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Builds the Rust go-prefetch once into the bench cache; null (with a message) when it cannot. */
async function rustBinary(): Promise<string | null> {
  const root = join(mirrorRoot(), "rust-go-prefetch");
  const bin = join(root, "bin", "go-prefetch");
  if (await Deno.stat(bin).then(() => true, () => false)) return bin;
  log(`building the Rust go-prefetch: cargo install go-prefetch@0.1.0 --root ${root}`);
  try {
    const out = await new Deno.Command("cargo", {
      args: ["install", "go-prefetch", "--version", "0.1.0", "--root", root],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return bin;
    log(
      `skipping the Rust go-prefetch: cargo install failed: ${
        new TextDecoder().decode(out.stderr).slice(-500)
      }`,
    );
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    log("skipping the Rust go-prefetch: cargo is not installed");
  }
  return null;
}

/** Everything one contender run needs, laid out afresh under `work`. */
async function prepare(mirror: Mirror, work: string, rustBin: string | null): Promise<RunTarget> {
  await removeTree(work);
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

async function runOne(
  c: Contender,
  mirror: Mirror,
  profile: string,
  round: number,
  work: string,
  rustBin: string | null,
): Promise<{ record: RunRecord; target: RunTarget }> {
  const t = await prepare(mirror, work, rustBin);
  const record = (
    m: Measurement,
    bytes: number,
    requests: number,
    ok: boolean,
    detail: string,
  ) => ({
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
      bytes,
      requests,
      code: m.code,
      ok,
      detail,
      lag,
    },
  });
  const proxy = isLocal(c.kind) ? null : await startProxy(mirror, profile);
  t.proxyUrl = proxy?.url ?? `file://${proxyTree(mirror)}`;
  const { argv, cwd } = commandFor(c, t);
  const m = await measure(argv, cwd, goEnv(t.modCache, proxy ? t.proxyUrl : "off"));
  const lag = c.lagProbe ? await readLag(t.lagFile) : null;
  const stats = proxy ? await stopProxy(proxy) : { bytes: mirror.bytes, requests: 0 };
  if (m.code !== 0) {
    return record(m, stats.bytes, stats.requests, false, `exit ${m.code}: ${m.stderrTail}`);
  }
  if (c.kind.endsWith("floor")) return record(m, stats.bytes, stats.requests, true, "");
  const gate = await checkCache(mirror, t.modCache, join(work, "gate"));
  return record(m, stats.bytes, stats.requests, gate.ok, gate.detail);
}

/** Reruns goprefetch on the cache a full run just filled: it should do nothing, quickly. */
async function noOpRerun(t: RunTarget, profile: string): Promise<Extra> {
  const proxy = await startProxy(t.mirror, profile);
  const c: Contender = { name: REFERENCE, kind: "goprefetch", concurrency: 64 };
  const { argv, cwd } = commandFor(c, { ...t, proxyUrl: proxy.url });
  const m = await measure(argv, cwd, goEnv(t.modCache, proxy.url));
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
  const env = goEnv(t.modCache, "off");
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
    goEnv(t.modCache, "off"),
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
      tmp: { type: "string" },
    },
  });
  const quick = values.quick ?? false;
  const setNames = parseList(
    values.sets,
    quick ? ["kubernetes"] : SETS.map((s) => s.name),
    SETS.map((s) => s.name),
  );
  const profiles = parseList(
    values.profiles,
    quick ? ["near"] : ["near", "cross-region", "far"],
    Object.keys(PROFILES),
  );
  const runs = Number(values.runs ?? (quick ? 1 : 5));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer`);
  const jsonFile = values.json ?? join(BENCH_DIR, "results", "latest.json");
  const kinds = parseList(
    values.contenders,
    [...new Set(FULL_CONTENDERS.map((c) => c.kind))],
    FULL_CONTENDERS.map((c) => c.kind),
  );
  const contenders = (quick ? QUICK_CONTENDERS : FULL_CONTENDERS)
    .filter((c) => kinds.includes(c.kind));

  const mirrors = [];
  for (const name of setNames) {
    mirrors.push(await ensureMirror(SETS.find((s) => s.name === name)!, log));
  }
  const rustBin = contenders.some((c) => c.kind === "rust") ? await rustBinary() : null;
  const active = contenders.filter((c) => c.kind !== "rust" || rustBin);
  const version = ["deno", "run", "-A", CLI_TS, "--version"];
  await measure(version, BENCH_DIR, Deno.env.toObject());
  const startup = await measure(version, BENCH_DIR, Deno.env.toObject());
  const extras: Extra[] = [{
    what: "goprefetch --version (Deno startup and module load)",
    wallMs: startup.wallMs,
    maxRssKiB: startup.maxRssKiB,
  }];

  const work = await Deno.makeTempDir({ prefix: "goprefetch-bench-", dir: values.tmp });
  const records: RunRecord[] = [];
  for (const mirror of mirrors) {
    let verified = false;
    for (const profile of profiles) {
      let noOpDone = false;
      for (let round = 0; round < runs; round++) {
        const order = round % 2 === 0 ? active : [...active].reverse();
        for (const c of order) {
          const { record: r, target } = await runOne(c, mirror, profile, round, work, rustBin);
          const verdict = r.ok ? "" : ` FAILED ${r.detail}`;
          log(
            `${r.set} ${profile} #${round} ${c.name}: ${(r.wallMs / 1000).toFixed(2)} s${verdict}`,
          );
          records.push(r);
          if (c.name === REFERENCE && r.ok && !noOpDone) {
            extras.push(await noOpRerun(target, profile));
            if (!verified) extras.push(...await verifyPair(target), ...await listCheck(target));
            noOpDone = verified = true;
          }
        }
      }
    }
  }
  await removeTree(work);

  const rows = summarize(records, REFERENCE);
  const sets = mirrors.map(({ files: _files, set, ...m }) => ({ ...set, ...m }));
  const goVersion = await new Deno.Command("go", { args: ["env", "GOVERSION"] }).output();
  const localGo = new TextDecoder().decode(goVersion.stdout).trim();
  console.log(markdown(rows) + "\n\n" + footer(sets, extras, rows, records, REFERENCE, localGo));
  await Deno.mkdir(join(jsonFile, ".."), { recursive: true });
  const json = { date: new Date().toISOString(), runs, sets, rows, extras, records };
  await Deno.writeTextFile(jsonFile, JSON.stringify(json, null, 1) + "\n");
  log(`JSON written to ${jsonFile}`);
}

if (import.meta.main) await main();
