/**
 * `--json [FILE]`: one valid JSON document for every run, with the shape the README documents:
 * the report on success, on module failures (every status), in a dry run, and `{tool, error}`
 * on usage and setup errors; the library returns the same structure; and each way of naming
 * the target (`--json`, `--json=-`, `--json=FILE`, `--json FILE.json`) in every command.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { prefetch, type VerifyReport, VERSION } from "../mod.ts";
import { jsonArgs } from "../src/args.ts";
import type { ModuleRecord, PrefetchReport } from "../src/report.ts";
import { escapePath } from "../src/module_path.ts";
import { makeTinySandbox, runCli, type TinySandbox } from "./support/tiny_sandbox.ts";

const STATUSES = ["fetched", "cached", "private", "direct", "failed", "cancelled", "planned"];

async function withBox(
  count: number,
  fn: (box: TinySandbox) => Promise<void>,
  opts: { notFound?: string } = {},
): Promise<void> {
  const box = await makeTinySandbox(count, {
    fault: (_req, path) =>
      opts.notFound && path.startsWith(`/${escapePath(opts.notFound)}/@v/`)
        ? new Response("not found", { status: 404 })
        : undefined,
  });
  try {
    await fn(box);
  } finally {
    await box.remove();
  }
}

/** Checks every field of a report against its documented type, and the totals against the modules. */
function assertReportShape(report: PrefetchReport): void {
  assert.deepEqual(Object.keys(report).filter((k) => k !== "buildList").sort(), [
    "modules",
    "settings",
    "tool",
    "totals",
    "warnings",
  ]);
  if (report.buildList) {
    assert.deepEqual(Object.keys(report.buildList).sort(), [
      "bytes",
      "infoFetched",
      "modules",
      "retries",
    ]);
    for (const value of Object.values(report.buildList)) assert.ok(Number.isInteger(value));
  }
  assert.deepEqual(report.tool, { name: "goprefetch", version: VERSION });
  const s = report.settings;
  for (const key of ["dir", "gomodcache", "goproxy", "gonoproxy"] as const) {
    assert.equal(typeof s[key], "string", key);
  }
  assert.equal(typeof s.concurrency, "number");
  assert.equal(typeof s.dryRun, "boolean");
  assert.ok(Array.isArray(report.warnings));
  for (const m of report.modules) assertRecordShape(m);
  const t = report.totals;
  const count = (...statuses: string[]) =>
    report.modules.filter((m) => statuses.includes(m.status)).length;
  assert.deepEqual(
    { ...t, seconds: 0 },
    {
      fetched: count("fetched"),
      cached: count("cached"),
      skipped: count("private", "direct"),
      failed: count("failed"),
      cancelled: count("cancelled"),
      planned: count("planned"),
      bytes: report.modules.reduce((n, m) => n + m.bytes, report.buildList?.bytes ?? 0),
      seconds: 0,
    },
  );
  assert.ok(t.seconds >= 0);
}

function assertRecordShape(m: ModuleRecord): void {
  const id = `${m.path}@${m.version}`;
  assert.equal(typeof m.path, "string", id);
  assert.equal(typeof m.version, "string", id);
  assert.equal(typeof m.zip, "boolean", id);
  assert.ok(STATUSES.includes(m.status), `${id}: ${m.status}`);
  for (const key of ["bytes", "ms", "retries"] as const) {
    assert.ok(Number.isInteger(m[key]) && m[key] >= 0, `${id}: ${key} ${m[key]}`);
  }
  assert.ok(m.files.every((f) => ["info", "mod", "zip"].includes(f)), id);
  assert.equal(m.status === "failed", typeof m.error === "string", `${id}: error ${m.error}`);
  if (m.status === "fetched") assert.equal(typeof m.proxy, "string", id);
}

function statuses(report: PrefetchReport): Record<string, string> {
  return Object.fromEntries(report.modules.map((m) => [m.path, m.status]));
}

Deno.test("json: a successful run, then a rerun on the full cache", async () => {
  await withBox(4, async (box) => {
    const first = await runCli(["-q", "--json", "."], { cwd: box.project, env: box.env() });
    assert.equal(first.code, 0, first.stderr);
    const report: PrefetchReport = JSON.parse(first.stdout);
    assertReportShape(report);
    assert.deepEqual(Object.values(statuses(report)), Array(4).fill("fetched"));
    assert.ok(report.totals.bytes > 0);
    assert.equal(report.settings.gomodcache, box.gomodcache);
    assert.equal(report.settings.goproxy, box.proxy.url);
    assert.equal(report.settings.dir, box.project);
    assert.deepEqual(report.modules.map((m) => m.path), box.specs.map((s) => s.path));
    for (const m of report.modules) {
      assert.equal(m.proxy, box.proxy.url);
      assert.deepEqual(m.files, ["info", "mod", "zip"]);
    }

    const file = join(box.tmp, "report.json");
    const again = await runCli(["--json=" + file, "."], { cwd: box.project, env: box.env() });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "", "--json=FILE leaves stdout alone");
    const cached: PrefetchReport = JSON.parse(await Deno.readTextFile(file));
    assertReportShape(cached);
    assert.deepEqual(Object.values(statuses(cached)), Array(4).fill("cached"));
    assert.equal(cached.totals.bytes, 0);
  });
});

Deno.test("json: fetched, private, direct and failed in one run, exit 1", async () => {
  const notFound = "example.com/tiny/m002";
  await withBox(5, async (box) => {
    const [, , bad, , priv] = box.specs;
    assert.equal(box.specs[3].path, notFound);
    await box.corruptZipHash(bad);
    const env = box.env({ GOPROXY: `${box.proxy.url},direct`, GOPRIVATE: priv.path });
    const r = await runCli(["--json", "--continue-on-error", "."], { cwd: box.project, env });
    assert.equal(r.code, 1, r.stderr);
    const report: PrefetchReport = JSON.parse(r.stdout);
    assertReportShape(report);
    assert.deepEqual(statuses(report), {
      [box.specs[0].path]: "fetched",
      [box.specs[1].path]: "fetched",
      [bad.path]: "failed",
      [notFound]: "direct",
      [priv.path]: "private",
    });
    const failed = report.modules.find((m) => m.status === "failed")!;
    assert.ok(failed.error!.startsWith(`${bad.path}@${bad.version}: `), failed.error);
    assert.match(failed.error!, /checksum mismatch/);
    assert.equal(report.totals.skipped, 2);
    assert.equal(report.settings.goproxy, `${box.proxy.url},direct`);
  }, { notFound });
});

Deno.test("json: the first failure cancels the rest, and the report says so", async () => {
  await withBox(4, async (box) => {
    await box.corruptZipHash(box.specs[0]);
    const r = await runCli(["-q", "--json", "-c", "1", "."], { cwd: box.project, env: box.env() });
    assert.equal(r.code, 1, r.stderr);
    const report: PrefetchReport = JSON.parse(r.stdout);
    assertReportShape(report);
    assert.deepEqual(report.modules.map((m) => m.status), [
      "failed",
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
    assert.equal(report.totals.cancelled, 3);
  });
});

Deno.test("json: a dry run reports planned modules and their files", async () => {
  await withBox(3, async (box) => {
    const r = await runCli(["--dry-run", "--json", "."], { cwd: box.project, env: box.env() });
    assert.equal(r.code, 0, r.stderr);
    const report: PrefetchReport = JSON.parse(r.stdout);
    assertReportShape(report);
    assert.equal(report.settings.dryRun, true);
    assert.deepEqual(report.modules.map((m) => [m.status, m.files.join(",")]), [
      ["planned", "info,mod,zip"],
      ["planned", "info,mod,zip"],
      ["planned", "info,mod,zip"],
    ]);
    assert.match(r.stderr, /example\.com\/\S+ info,mod,zip\n/, "the listing moves to stderr");
  });
});

Deno.test("json: setup and usage errors give {tool, error} and exit 2", async () => {
  await withBox(1, async (box) => {
    const cases: [string[], RegExp][] = [
      [["--json", join(box.tmp, "nowhere")], /^No go\.mod in /],
      [["--json", "--concurrency", "0", "."], /^--concurrency must be/],
      [["--json", "--frobnicate", "."], /frobnicate/],
      [["--json", ".", "."], /^expected at most one PATH/],
    ];
    for (const [args, error] of cases) {
      const r = await runCli(args, { cwd: box.project, env: box.env() });
      assert.equal(r.code, 2, `${args}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(doc), ["tool", "error"]);
      assert.deepEqual(doc.tool, { name: "goprefetch", version: VERSION });
      assert.match(doc.error, error);
      assert.ok(r.stderr.startsWith(`goprefetch: ${doc.error}\n`), r.stderr);
    }
    const file = join(box.tmp, "error.json");
    const r = await runCli([`--json=${file}`, "--retries", "x", "."], {
      cwd: box.project,
      env: box.env(),
    });
    assert.equal(r.code, 2);
    assert.match(JSON.parse(await Deno.readTextFile(file)).error, /^--retries must be/);
    assert.deepEqual(box.proxy.requests, []);
  });
});

Deno.test("json: the library returns the structure the CLI prints", async () => {
  await withBox(3, async (box) => {
    const r = await runCli(["-q", "--json", "."], { cwd: box.project, env: box.env() });
    assert.equal(r.code, 0, r.stderr);
    const cli: PrefetchReport = JSON.parse(r.stdout);
    const env = box.env();
    const lib = await prefetch({
      dir: box.project,
      gomodcache: join(box.tmp, "modcache-lib"),
      env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("GO"))),
    });
    assertReportShape(lib);
    assert.deepEqual(JSON.parse(JSON.stringify(lib.settings)), {
      ...cli.settings,
      gomodcache: join(box.tmp, "modcache-lib"),
    });
    const strip = (m: ModuleRecord) => ({ ...m, ms: 0 });
    assert.deepEqual(lib.modules.map(strip), cli.modules.map(strip));
  });
});

Deno.test("json: --json FILE with a space names the file only when FILE ends in .json", () => {
  const dirs = new Set(["dir.json"]);
  const isDirectory = (path: string) => dirs.has(path);
  const cases: [string[], string[]][] = [
    [["--json"], ["--json=-"]],
    [["--json", "."], ["--json=-", "."]],
    [["--json", "report"], ["--json=-", "report"]],
    [["--json", "report.json"], ["--json=report.json"]],
    [["--json", "out/report.json", "."], ["--json=out/report.json", "."]],
    [["-q", "--json", "dir.json"], ["-q", "--json=-", "dir.json"]],
    [["--json", "-v.json"], ["--json=-", "-v.json"]],
    [["--json", "--dry-run"], ["--json=-", "--dry-run"]],
    [["--json="], ["--json=-"]],
    [["--json=-", "a.json"], ["--json=-", "a.json"]],
    [["--json=r.txt", "."], ["--json=r.txt", "."]],
    [["verify", "--json", "v.json"], ["verify", "--json=v.json"]],
    [["--", "--json", "a.json"], ["--", "--json", "a.json"]],
    [["--json", "--", "a.json"], ["--json=-", "--", "a.json"]],
  ];
  for (const [args, expected] of cases) {
    assert.deepEqual(jsonArgs(args, isDirectory), expected, args.join(" "));
  }
});

Deno.test("json: --json, --json=-, --json=FILE and --json FILE.json on the command line", async () => {
  await withBox(2, async (box) => {
    const opts = { cwd: box.project, env: box.env() };
    for (const args of [["--json"], ["--json=-"], ["--json", "."], ["-q", "--json=-", "."]]) {
      const r = await runCli(["--dry-run", ...args], opts);
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
      assertReportShape(JSON.parse(r.stdout));
    }
    for (const [i, form] of ["--json=FILE", "--json FILE"].entries()) {
      const file = join(box.tmp, `report-${i}.json`);
      const json = form === "--json=FILE" ? [`--json=${file}`] : ["--json", file];
      for (const args of [[...json], [...json, "."]]) {
        const r = await runCli(["-q", ...args], opts);
        assert.equal(r.code, 0, `${args}: ${r.stderr}`);
        assert.equal(r.stdout, "", `${args}: the report goes to the file only`);
        const report: PrefetchReport = JSON.parse(await Deno.readTextFile(file));
        assertReportShape(report);
        assert.equal(report.settings.dir, box.project);
        await Deno.remove(file);
      }
    }

    const relative = await runCli(["-q", "--json", "relative.json"], opts);
    assert.equal(relative.code, 0, relative.stderr);
    assertReportShape(JSON.parse(await Deno.readTextFile(join(box.project, "relative.json"))));

    const dir = join(box.tmp, "dir.json");
    await Deno.mkdir(dir);
    const notFile = await runCli(["--dry-run", "--json", dir], opts);
    assert.equal(notFile.code, 2, "an existing directory ending in .json is the PATH");
    assert.match(JSON.parse(notFile.stdout).error, /^No go\.mod in /);

    const other = await runCli(["--dry-run", "--json", join(box.tmp, "report.txt")], opts);
    assert.equal(other.code, 2, "a FILE not ending in .json is the PATH");
    assert.match(JSON.parse(other.stdout).error, /^No go\.mod in /);
  });
});

Deno.test("json: verify and cache-key read --json by the same rule", async () => {
  await withBox(2, async (box) => {
    const opts = { cwd: box.project, env: box.env() };
    const onStdout = await runCli(["verify", "--json", "."], opts);
    assert.equal(onStdout.code, 0, onStdout.stderr);
    const report: VerifyReport = JSON.parse(onStdout.stdout);
    assert.deepEqual({ ...report.totals, seconds: 0 }, {
      ok: 0,
      absent: 2,
      modified: 0,
      seconds: 0,
    });
    assert.deepEqual(report.tool, { name: "goprefetch", version: VERSION });

    for (const json of [["--json=verify.json"], ["--json", "verify.json"]]) {
      const r = await runCli(["verify", ...json, "."], opts);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "");
      const file = join(box.project, "verify.json");
      const written: VerifyReport = JSON.parse(await Deno.readTextFile(file));
      assert.equal(written.totals.absent, 2);
      await Deno.remove(file);
    }

    const usage = await runCli(["verify", "--json", "--frobnicate"], opts);
    assert.equal(usage.code, 2);
    assert.match(JSON.parse(usage.stdout).error, /frobnicate/);
    assert.match(usage.stderr, /^goprefetch: .*frobnicate.*\nRun "goprefetch verify --help"/);

    const key = join(box.tmp, "key.json");
    const cacheKey = await runCli(["cache-key", "--json", key, "."], opts);
    assert.equal(cacheKey.code, 2, "cache-key has no JSON report");
    assert.equal(cacheKey.stdout, "");
    assert.match(JSON.parse(await Deno.readTextFile(key)).error, /--json/);
    assert.match(cacheKey.stderr, /cache-key --help/);
  });
});
