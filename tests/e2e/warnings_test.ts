/**
 * A run that prefetches nothing says so: GOPROXY=direct, GOPROXY=off on an empty cache, and
 * GONOPROXY or GOPRIVATE covering every module each give one warning line, the same in the
 * JSON report (`warnings` and the structured `warningDetails`), with the exit code unchanged.
 * A normal run, and a rerun on a full cache, give none. Replacement directories without a
 * go.mod are named in one warning, however many there are.
 */
import { type TinySandbox, withTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { PrefetchReport, ReportWarning } from "../../src/engine/report.ts";
import { runCli } from "../support/cli.ts";

/** Runs the CLI with `--json` on stdout; returns its exit code, warning lines and report. */
async function run(
  box: TinySandbox,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; lines: string[]; report: PrefetchReport }> {
  const r = await runCli(["--json", ...args, "."], {
    cwd: box.project,
    env: box.env({ NO_COLOR: "1", ...env }),
  });
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("goprefetch: warning: "));
  return { code: r.code, lines, report: JSON.parse(r.stdout) };
}

/** Checks that `warning` is the run's only warning, on stderr and in both JSON fields. */
function assertOnlyWarning(
  got: { lines: string[]; report: PrefetchReport },
  warning: ReportWarning,
): void {
  assert.deepEqual(got.lines, [`goprefetch: warning: ${warning.message}`]);
  assert.deepEqual(got.report.warnings, [warning.message]);
  assert.deepEqual(got.report.warningDetails, [warning]);
}

Deno.test("warnings: GOPROXY=direct prefetches nothing, exits 0, and says so once", async () => {
  await withTinySandbox(3, async (box) => {
    const got = await run(box, [], { GOPROXY: "direct" });
    assert.equal(got.code, 0);
    assertOnlyWarning(got, {
      kind: "nothing-prefetched",
      message: "Nothing prefetched: GOPROXY=direct leaves the 3 modules missing from the cache " +
        "to the go command",
      modules: 3,
      reasons: { direct: 3 },
    });
    assert.deepEqual(box.proxy.requests, []);
    const dry = await run(box, ["--dry-run"], { GOPROXY: "direct" });
    assert.equal(dry.code, 0);
    assert.deepEqual(dry.lines, [
      "goprefetch: warning: Nothing would be prefetched: GOPROXY=direct leaves the 3 modules " +
      "missing from the cache to the go command",
    ]);
    assert.deepEqual(dry.report.modules.map((m) => m.status), ["direct", "direct", "direct"]);
    assert.equal(dry.report.totals.planned, 0, "a dry run plans what GOPROXY=direct skips");
    assert.equal(dry.report.totals.skipped, 3);
  });
});

Deno.test("warnings: GOPROXY=off on an empty cache fails as before, and says nothing was prefetched", async () => {
  await withTinySandbox(3, async (box) => {
    const got = await run(box, [], { GOPROXY: "off" });
    assert.equal(got.code, 1);
    assertOnlyWarning(got, {
      kind: "nothing-prefetched",
      message: "Nothing prefetched: GOPROXY=off disables downloads, for go too: the 3 modules " +
        "missing from the cache stay missing",
      modules: 3,
      reasons: { off: 3 },
    });
    const dry = await runCli(["--dry-run", "."], {
      cwd: box.project,
      env: box.env({ NO_COLOR: "1", GOPROXY: "off" }),
    });
    assert.equal(dry.code, 1, "a dry run fails where the run would");
    assert.match(dry.stderr, /^goprefetch: error: \S+: module lookup disabled by GOPROXY=off;/m);
    assert.match(
      dry.stderr,
      /^goprefetch: dry run: 0 to fetch, .*, 1 failed, 2 cancelled; nothing was fetched$/m,
    );
    assert.equal(dry.stdout, "", "nothing is listed as to fetch");
  });
});

Deno.test("warnings: GONOPROXY or GOPRIVATE covering every module says so once, exit 0", async () => {
  await withTinySandbox(3, async (box) => {
    for (const variable of ["GONOPROXY", "GOPRIVATE"]) {
      const got = await run(box, [], { [variable]: "example.com" });
      assert.equal(got.code, 0);
      assertOnlyWarning(got, {
        kind: "nothing-prefetched",
        message: "Nothing prefetched: GONOPROXY/GOPRIVATE (example.com) leaves the 3 modules " +
          "missing from the cache to the go command",
        modules: 3,
        reasons: { gonoproxy: 3 },
      });
    }
    assert.deepEqual(box.proxy.requests, []);
  });
});

Deno.test("warnings: GONOPROXY for some modules and GOPROXY=direct for the rest count each reason", async () => {
  await withTinySandbox(3, async (box) => {
    const first = box.specs[0].path;
    const got = await run(box, [], { GOPROXY: "direct", GONOPROXY: first });
    assert.equal(got.code, 0);
    assertOnlyWarning(got, {
      kind: "nothing-prefetched",
      message: "Nothing prefetched: of the 3 modules missing from the cache, GONOPROXY/GOPRIVATE " +
        `(${first}) leaves 1 to the go command, and GOPROXY=direct leaves the other 2 to the go ` +
        "command",
      modules: 3,
      reasons: { gonoproxy: 1, direct: 2 },
    });
  });
});

Deno.test("warnings: a normal run, and GOPROXY=direct on the cache it filled, warn of nothing", async () => {
  await withTinySandbox(3, async (box) => {
    const normal = await run(box, [], {});
    assert.equal(normal.code, 0);
    assert.equal(normal.report.totals.fetched, 3);
    assert.deepEqual([normal.lines, normal.report.warnings, normal.report.warningDetails], [
      [],
      [],
      [],
    ]);
    const full = await run(box, [], { GOPROXY: "direct" });
    assert.equal(full.code, 0);
    assert.equal(full.report.totals.cached, 3);
    assert.deepEqual([full.lines, full.report.warnings, full.report.warningDetails], [[], [], []]);
  });
});

Deno.test("warnings: replacement directories without a go.mod are named in one line, exit 0", async () => {
  await withTinySandbox(3, async (box) => {
    const goMod = await Deno.readTextFile(join(box.project, "go.mod"));
    await Deno.writeTextFile(
      join(box.project, "go.mod"),
      goMod + "\nrequire (\n\texample.com/local/a v0.0.0\n\texample.com/local/b v0.0.0\n)\n\n" +
        "replace example.com/local/a => ./a\n\nreplace example.com/local/b => ./b\n",
    );
    await Deno.mkdir(join(box.project, "a"));
    const got = await run(box, [], {});
    assert.equal(got.code, 0);
    assert.equal(got.report.totals.fetched, 3);
    const message = "The build list is incomplete: replacement directories " +
      `${join(box.project, "a")}, ${join(box.project, "b")} have no go.mod`;
    assert.deepEqual(got.lines, [`goprefetch: warning: ${message}`]);
    assert.deepEqual(got.report.warnings, [message]);
  });
});
