/**
 * `--json [FILE]`: one valid JSON document for every run, with the shape the README documents:
 * the report on success, on module failures (every status), in a dry run, and `{tool, error}`
 * on usage and setup errors; the library returns the same structure; and each way of naming
 * the target (`--json`, `--json=-`, `--json=FILE`, `--json FILE.json`) in every command.
 */
import { type TinySandbox, withTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { prefetch, type VerifyReport, VERSION } from "../../mod.ts";
import { jsonArgs } from "../../src/cli/args.ts";
import type { ModuleRecord, PrefetchReport } from "../../src/engine/report.ts";
import { escapePath } from "../../src/module/module_path.ts";
import { runCli } from "../support/cli.ts";

const STATUSES = ["fetched", "cached", "private", "direct", "failed", "cancelled", "planned"];

async function withBox(
  count: number,
  fn: (box: TinySandbox) => Promise<void>,
  opts: { notFound?: string } = {},
): Promise<void> {
  await withTinySandbox(count, fn, {
    fault: (_req, path) =>
      opts.notFound && path.startsWith(`/${escapePath(opts.notFound)}/@v/`)
        ? new Response("not found", { status: 404 })
        : undefined,
  });
}

/** Checks every field of a report against its documented type, and the totals against the modules. */
function assertReportShape(report: PrefetchReport): void {
  assert.deepEqual(Object.keys(report).filter((k) => k !== "buildList").sort(), [
    "modules",
    "settings",
    "tool",
    "totals",
    "warningDetails",
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
  assert.deepEqual(report.warningDetails.map((w) => w.message), report.warnings);
  for (const m of report.modules) assertRecordShape(m);
  const t = report.totals;
  const count = (...statuses: string[]) =>
    report.modules.filter((m) => statuses.includes(m.status)).length;
  assert.deepEqual(
    { ...t, seconds: 0, bytes: 0 },
    {
      fetched: count("fetched"),
      cached: count("cached"),
      skipped: count("private", "direct"),
      failed: count("failed"),
      cancelled: count("cancelled"),
      planned: count("planned"),
      bytes: 0,
      seconds: 0,
    },
  );
  const recorded = report.modules.reduce((n, m) => n + m.bytes, report.buildList?.bytes ?? 0);
  if (t.cancelled === 0 && report.modules.every((m) => m.retries === 0)) {
    assert.equal(
      t.bytes,
      recorded,
      "without retries or cancelled modules, every byte is a record's",
    );
  } else assert.ok(t.bytes >= recorded, "cancelled downloads count too");
  assert.ok(t.seconds >= 0);
  assert.match(JSON.stringify(t.seconds), /^\d+(\.\d{1,3})?$/, "seconds rounded to milliseconds");
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
      [["--json", join(box.tmp, "nowhere")], / does not exist$/],
      [["--json", "--concurrency", "0", "."], /^--concurrency must be/],
      [["--json", "--frobnicate", "."], /^unknown option --frobnicate /],
      [["--json", ".", "."], /^one PATH at most/],
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
    assert.match(JSON.parse(other.stdout).error, / does not exist$/);
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
    assert.equal(
      usage.stderr,
      "goprefetch: unknown option --frobnicate (see goprefetch verify --help)\n",
    );

    const key = join(box.tmp, "key.json");
    const cacheKey = await runCli(["cache-key", "--json", key, "."], opts);
    assert.equal(cacheKey.code, 2, "cache-key has no JSON report");
    assert.equal(cacheKey.stdout, "");
    assert.match(JSON.parse(await Deno.readTextFile(key)).error, /--json/);
    assert.match(cacheKey.stderr, /cache-key --help/);
  });
});

Deno.test("json: a --json file or step summary that cannot be written stops the run first", async () => {
  await withBox(2, async (box) => {
    const opts = { cwd: box.project, env: box.env() };
    const missing = join(box.tmp, "no-such-dir", "r.json");
    for (const command of [[], ["verify"]]) {
      const r = await runCli([...command, `--json=${missing}`, "."], opts);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
      assert.ok(r.stderr.startsWith("goprefetch: Cannot write the --json file: "), r.stderr);
      assert.match(r.stderr, /no-such-dir.*; name a file in a directory that exists/);
    }
    const dir = await runCli(["--json=.", "."], opts);
    assert.equal(dir.code, 2, "a directory is no --json file");
    assert.match(dir.stderr, /^goprefetch: Cannot write the --json file: /);

    const summary = join(box.tmp, "no-such-dir", "summary.md");
    const env = box.env({ GITHUB_STEP_SUMMARY: summary });
    const r = await runCli(["--json", "."], { cwd: box.project, env });
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(doc), ["tool", "error"]);
    assert.match(doc.error, /^Cannot write the GITHUB_STEP_SUMMARY file: .*no-such-dir/);
    assert.ok(r.stderr.startsWith(`goprefetch: ${doc.error}\n`), r.stderr);
    assert.deepEqual(box.proxy.requests, []);
    await assert.rejects(Deno.stat(box.gomodcache), Deno.errors.NotFound);

    const existing = join(box.tmp, "kept.json");
    await Deno.writeTextFile(existing, "old\n");
    const usage = await runCli([`--json=${existing}`, "--retries", "x", "."], opts);
    assert.equal(usage.code, 2);
    assert.match(JSON.parse(await Deno.readTextFile(existing)).error, /^--retries must be/);
  });
});

Deno.test("json: a report that cannot be written after the run exits 2", async () => {
  await withBox(2, async (box) => {
    const opts = { cwd: box.project, env: box.env() };
    const r = await runCli(["-q", "--json=/dev/full", "."], opts);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^goprefetch: Could not write \/dev\/full: No space left on device/);
    assert.equal(box.proxy.requests.filter((p) => p.endsWith(".zip")).length, 2, "the run ran");
    const verify = await runCli(["verify", "-q", "--json=/dev/full", "."], opts);
    assert.equal(verify.code, 2, verify.stderr);
    assert.match(verify.stderr, /^goprefetch: Could not write \/dev\/full: /);
  });
});

/** Runs the CLI as `runCli` does, with its standard output on /dev/full, which fails writes. */
async function runOnFullStdout(
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stderr: string }> {
  const cli = join(import.meta.dirname!, "..", "..", "cli.ts");
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$@" >/dev/full',
      "sh",
      Deno.execPath(),
      "run",
      "--quiet",
      "-A",
      cli,
      ...args,
    ],
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("json: an internal error is one line, exit 3, and {tool, error}", async () => {
  await withBox(1, async (box) => {
    const file = join(box.tmp, "internal.json");
    const summary = join(box.tmp, "summary.md");
    const env = box.env({ GITHUB_STEP_SUMMARY: summary });
    const r = await runOnFullStdout(["--version", `--json=${file}`], { cwd: box.project, env });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      "goprefetch: internal error: No space left on device (os error 28), please report it\n",
    );
    const doc = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(doc, {
      tool: { name: "goprefetch", version: VERSION },
      error: "internal error: No space left on device (os error 28)",
    });
    assert.match(await Deno.readTextFile(summary), /^### goprefetch failed\n\n` internal error: /);

    const debug = await runOnFullStdout(["cache-key"], {
      cwd: box.project,
      env: box.env({ GOPREFETCH_DEBUG: "1" }),
    });
    assert.equal(debug.code, 3, debug.stderr);
    assert.match(debug.stderr, /^goprefetch: internal error: .*, please report it\n/);
    assert.match(
      debug.stderr,
      /^\s+at .*cache_key_command\.ts/m,
      "the stack, under GOPREFETCH_DEBUG",
    );
  });
});
