/**
 * What the command line prints: the live line on a terminal (redrawn at most ten times a
 * second, with phase, bar, windowed throughput and a late ETA, cut to the width by visible
 * characters, its style reset, cleared at the end), a plain line every five seconds elsewhere,
 * `-v` and `-q`, colour, dry runs, interrupted runs and the failure that stops a run; first
 * with a fake clock and terminal, then under a real pseudo-terminal.
 */
import { makeTinySandbox, type TinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { prefetch } from "../../mod.ts";
import { escapePath } from "../../src/module/module_path.ts";
import {
  type Clock,
  formatBytes,
  Output,
  type OutputOptions,
  visibleWidth,
} from "../../src/cli/output.ts";
import type { ModuleRecord, PrefetchReport } from "../../src/engine/report.ts";
import { totalsOf } from "../../src/engine/report.ts";
import { needing } from "../support/platform.ts";
import { cliCommand, runCli } from "../support/cli.ts";

const MiB = 1024 * 1024;

/** The text with each ESC shown as `<ESC>`, so that patterns need no control characters. */
function visible(text: string): string {
  return text.replaceAll("\x1b", "<ESC>");
}

/** A clock that moves only when told to, firing the timers that fall due. */
function fakeClock(): Clock & { advance(ms: number): void; intervals: number[] } {
  let now = 0;
  const timers = new Set<{ ms: number; next: number; fn: () => void }>();
  return {
    intervals: [],
    now: () => now,
    every(ms, fn) {
      this.intervals.push(ms);
      const timer = { ms, next: now + ms, fn };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.ms;
        due.fn();
      }
      now = end;
    },
  };
}

function harness(options: Partial<OutputOptions>) {
  const clock = fakeClock();
  const written = { stderr: "", stdout: "" };
  const out = new Output({
    verbosity: 1,
    terminal: false,
    color: false,
    columns: () => 120,
    clock,
    stderr: (t) => written.stderr += t,
    stdout: (t) => written.stdout += t,
    ...options,
  });
  return { out, clock, written };
}

/**
 * The tiny sandbox's modules that the cache holds complete: `.mod`, `.info`, and the
 * `.ziphash` written last.
 */
function completeModules(box: TinySandbox): string[] {
  return box.specs.filter((s) => {
    const atV = join(box.gomodcache, "cache", "download", escapePath(s.path), "@v");
    try {
      for (const ext of ["ziphash", "mod", "info"]) Deno.statSync(join(atV, `${s.version}.${ext}`));
      return true;
    } catch {
      return false;
    }
  }).map((s) => s.path);
}

function record(path: string, fields: Partial<ModuleRecord> = {}): ModuleRecord {
  return {
    path,
    version: "v1.0.0",
    zip: true,
    status: "fetched",
    bytes: 0,
    ms: 0,
    retries: 0,
    files: ["info", "mod", "zip"],
    ...fields,
  };
}

function report(modules: ModuleRecord[], seconds: number): PrefetchReport {
  return {
    tool: { name: "goprefetch", version: "0" },
    settings: {
      dir: "/p",
      gomodcache: "/c",
      goproxy: "http://proxy",
      gonoproxy: "",
      concurrency: 64,
      dryRun: false,
    },
    warnings: [],
    warningDetails: [],
    modules,
    totals: totalsOf(modules, seconds),
  };
}

Deno.test("output: without a terminal, a plain progress line every 5 s and none per module", () => {
  const { out, clock, written } = harness({});
  out.event({ type: "plan", total: 340 });
  assert.deepEqual(clock.intervals, [5000]);
  for (let i = 0; i < 120; i++) {
    out.event({ type: "start", path: `example.com/m${i}`, version: "v1.0.0" });
    out.event({ type: "module", record: record(`example.com/m${i}`) });
  }
  out.event({ type: "bytes", bytes: 155 * MiB });
  clock.advance(4999);
  assert.equal(written.stderr.length, 0);
  clock.advance(1);
  assert.equal(written.stderr, "goprefetch: fetching, 120/340 modules, 155.0 MiB, 31.0 MiB/s\n");
  out.event({ type: "start", path: "example.com/slow", version: "v1.0.0" });
  clock.advance(10_000);
  const lines = written.stderr.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(
    lines[2],
    "goprefetch: fetching, 120/340 modules, 155.0 MiB, 0 B/s, slowest example.com/slow@v1.0.0 10.0 s",
    "throughput over the last 5 s, not since the start",
  );
  assert.ok(!written.stderr.includes("\r"));
});

Deno.test("output: on a terminal, one line redrawn ten times a second, cleared before the summary", () => {
  const { out, clock, written } = harness({ terminal: true, columns: () => 200 });
  out.event({ type: "plan", total: 4 });
  assert.deepEqual(clock.intervals, [100]);
  out.event({ type: "start", path: "example.com/big", version: "v1.0.0" });
  clock.advance(1000);
  out.event({ type: "start", path: "example.com/a", version: "v1.0.0" });
  out.event({ type: "bytes", bytes: 2 * MiB });
  out.event({ type: "module", record: record("example.com/a", { bytes: 2 * MiB }) });
  clock.advance(1000);
  const redraws = written.stderr.split("\r").filter((s) => s !== "");
  assert.equal(redraws.length, 20);
  const frame =
    "goprefetch: fetching [=====>              ] 1/4 modules  2.0 MiB  1.0 MiB/s  0:02" +
    "  slowest example.com/big@v1.0.0 2.0 s\x1b[K";
  assert.equal(redraws.at(-1), frame, "no ETA in the first 5 s");
  const before = written.stderr.length;
  out.finish(report([record("example.com/a", { bytes: 2 * MiB })], 2));
  assert.equal(
    written.stderr.slice(before),
    `\r${frame}\r\x1b[Kgoprefetch: 1 fetched, 0 already cached, 0 skipped (private/direct), ` +
      "0 failed; 2.0 MiB in 2.0 s\n",
    "the last frame is drawn with the final counts, then cleared",
  );
  clock.advance(1000);
  assert.equal(
    written.stderr.length,
    before + written.stderr.slice(before).length,
    "timer stopped",
  );
});

Deno.test("output: throughput and the ETA come from the last 5 s, the ETA only after 5 s and 20% done", () => {
  const { out, clock, written } = harness({ terminal: true, columns: () => 200 });
  out.event({ type: "plan", total: 10 });
  const last = () => written.stderr.split("\r").filter((s) => s !== "").at(-1);
  for (let i = 0; i < 5; i++) {
    clock.advance(i === 0 ? 500 : 1000);
    out.event({ type: "bytes", bytes: MiB });
    out.event({ type: "module", record: record(`example.com/m${i}`) });
  }
  clock.advance(100);
  assert.equal(
    last(),
    "goprefetch: fetching [==========>         ] 5/10 modules  5.0 MiB  1.1 MiB/s  0:05\x1b[K",
    "half done at 4.6 s: no ETA yet",
  );
  clock.advance(1400);
  assert.equal(
    last(),
    "goprefetch: fetching [==========>         ] 5/10 modules  5.0 MiB  819.2 KiB/s  0:06" +
      "  ETA 0:06\x1b[K",
    "4 modules and 4 MiB in the last 5 s: 5 modules left take 6.25 s",
  );
  clock.advance(5000);
  assert.equal(
    last(),
    "goprefetch: fetching [==========>         ] 5/10 modules  5.0 MiB  0 B/s  0:11\x1b[K",
    "nothing in the last 5 s: no throughput, no ETA",
  );
});

Deno.test("output: the phase follows the run: fetching, installing, then the build list", () => {
  const { out, clock, written } = harness({ terminal: true, columns: () => 200 });
  const phase = () => written.stderr.split("\r").filter((s) => s !== "").at(-1)?.split(" ")[1];
  out.event({ type: "plan", total: 2 });
  out.event({ type: "start", path: "example.com/a", version: "v1.0.0" });
  clock.advance(100);
  assert.equal(phase(), "fetching");
  out.event({ type: "install", path: "example.com/a", version: "v1.0.0" });
  clock.advance(100);
  assert.equal(phase(), "fetching", "example.com/b is not done");
  out.event({ type: "module", record: record("example.com/b") });
  clock.advance(100);
  assert.equal(phase(), "installing");
  out.event({ type: "module", record: record("example.com/a") });
  clock.advance(100);
  assert.equal(phase(), "build");
  assert.match(written.stderr, /goprefetch: build list \[====================\] 2\/2 modules/);
});

Deno.test("output: the live line is cut to the terminal's width", () => {
  const { out, clock, written } = harness({ terminal: true, columns: () => 40 });
  out.event({ type: "plan", total: 1 });
  out.event({ type: "start", path: "example.com/a/very/long/module/path", version: "v1.0.0" });
  clock.advance(100);
  const line = written.stderr.replace("\r", "").replace("\x1b[K", "");
  assert.equal(line, "goprefetch: fetching [>                ");
  assert.equal(line.length, 39);
});

Deno.test("output: in colour, the width is counted without escape codes and the style is reset at the end", () => {
  const tail = "  slowest example.com/a@v1.0.0 0.1 s";
  const main = "goprefetch: fetching [>                   ] 0/1 modules  0 B  0 B/s  0:00";
  for (const columns of [main.length + tail.length + 1, main.length + tail.length]) {
    const { out, clock, written } = harness({
      terminal: true,
      color: true,
      columns: () => columns,
    });
    out.event({ type: "plan", total: 1 });
    out.event({ type: "start", path: "example.com/a", version: "v1.0.0" });
    clock.advance(100);
    const fits = columns > main.length + tail.length;
    assert.equal(
      written.stderr,
      fits ? `\r${main}\x1b[2m${tail}\x1b[22m\x1b[0m\x1b[K` : `\r${main}\x1b[0m\x1b[K`,
      "the dim tail is whole, closed and reset, or left out",
    );
    assert.ok(visibleWidth(written.stderr.slice(1)) <= columns - 1);
  }
});

Deno.test("output: a line printed during the run clears the live line first", () => {
  const { out, clock, written } = harness({ terminal: true });
  out.event({ type: "plan", total: 2 });
  clock.advance(100);
  out.event({
    type: "module",
    record: record("example.com/bad", { status: "failed", error: "example.com/bad@v1.0.0: boom" }),
  });
  assert.match(
    visible(written.stderr),
    /<ESC>\[K\r<ESC>\[Kgoprefetch: error: example.com\/bad@v1.0.0: boom\n$/,
  );
});

Deno.test("output: -v prints one line per module with size, time, proxy and retries", () => {
  const { out, clock, written } = harness({ verbosity: 2 });
  out.event({ type: "plan", total: 2 });
  assert.deepEqual(clock.intervals, [], "no plain progress lines under -v");
  out.event({
    type: "module",
    record: record("example.com/a", { bytes: 3 * MiB / 2, ms: 412, proxy: "http://p", retries: 2 }),
  });
  out.event({ type: "module", record: record("example.com/b", { status: "cached", files: [] }) });
  assert.equal(
    written.stderr,
    "fetched   example.com/a@v1.0.0  1.5 MiB  412 ms  from http://p  2 retries\n" +
      "cached    example.com/b@v1.0.0\n",
  );
});

Deno.test("output: -q prints errors only", () => {
  const { out, clock, written } = harness({ verbosity: 0, terminal: true });
  out.event({ type: "plan", total: 2 });
  assert.deepEqual(clock.intervals, []);
  out.event({ type: "module", record: record("example.com/a") });
  out.event({
    type: "module",
    record: record("example.com/b", { status: "failed", error: "example.com/b@v1.0.0: gone" }),
  });
  out.finish(report([record("example.com/a")], 1));
  assert.equal(written.stderr, "goprefetch: error: example.com/b@v1.0.0: gone\n");
});

Deno.test("output: colour only when asked, on errors, warnings and the failed count", () => {
  for (const color of [true, false]) {
    const { out, written } = harness({ terminal: true, color });
    const bad = record("example.com/b", { status: "failed", error: "example.com/b@v1.0.0: gone" });
    out.event({ type: "module", record: bad });
    out.finish({ ...report([bad], 1), warnings: ["go.sum:3: odd"] });
    assert.equal(written.stderr.includes("\x1b[31merror:\x1b[39m"), color);
    assert.equal(written.stderr.includes("\x1b[33mwarning:\x1b[39m"), color);
    assert.equal(written.stderr.includes("\x1b[31m1 failed\x1b[39m"), color);
    assert.equal(written.stderr.includes("\x1b["), color);
  }
});

Deno.test("output: the first failure, which stops the run, points to --continue-on-error", () => {
  const { out, written } = harness({});
  const bad = (path: string) => record(path, { status: "failed", error: `${path}@v1.0.0: gone` });
  out.event({ type: "module", record: bad("example.com/a"), stopsRun: true });
  out.event({ type: "module", record: bad("example.com/b") });
  assert.equal(
    written.stderr,
    "goprefetch: error: example.com/a@v1.0.0: gone; stopping the run (--continue-on-error keeps going)\n" +
      "goprefetch: error: example.com/b@v1.0.0: gone\n",
  );
});

Deno.test("output: an error that ends in a full stop loses it before the stopping hint", () => {
  const { out, written } = harness({});
  const error = "example.com/a@v1.0.0: go.mod checksum mismatch; nothing was written to the cache.";
  out.event({
    type: "module",
    record: record("example.com/a", { status: "failed", error }),
    stopsRun: true,
  });
  assert.equal(
    written.stderr,
    "goprefetch: error: example.com/a@v1.0.0: go.mod checksum mismatch; nothing was written to the " +
      "cache; stopping the run (--continue-on-error keeps going)\n",
  );
});

Deno.test("output: an interrupted run says so in its summary", () => {
  const { out, written } = harness({});
  const modules = [
    record("example.com/a", { bytes: MiB }),
    record("example.com/b", { status: "cancelled" }),
  ];
  out.finish({ ...report(modules, 1.25), interrupted: true });
  assert.equal(
    written.stderr,
    "goprefetch: interrupted: 1 fetched, 0 already cached, 0 skipped (private/direct), 0 failed, " +
      "1 cancelled; 1.0 MiB in 1.3 s\n",
  );
});

Deno.test("output: a dry run lists planned modules in go.sum order on stdout, or on stderr when JSON is there", () => {
  for (const jsonOnStdout of [false, true]) {
    const { out, clock, written } = harness({ terminal: true, dryRun: true, jsonOnStdout });
    out.event({ type: "plan", total: 3 });
    assert.deepEqual(clock.intervals, []);
    const modules = [
      record("example.com/b", { status: "planned" }),
      record("example.com/c", { status: "cached", files: [] }),
      record("example.com/a", { status: "planned", files: ["mod"] }),
    ];
    for (const r of [modules[2], modules[1], modules[0]]) out.event({ type: "module", record: r });
    assert.equal(written.stdout + written.stderr, "", "nothing listed before the end");
    const dry = report(modules, 0.01);
    out.finish({ ...dry, settings: { ...dry.settings, dryRun: true } });
    const listing = "example.com/b@v1.0.0 info,mod,zip\nexample.com/a@v1.0.0 mod\n";
    const summary =
      "goprefetch: dry run: 2 to fetch, 1 already cached, 0 skipped (private/direct); " +
      "nothing was fetched\n";
    assert.equal(written.stdout, jsonOnStdout ? "" : listing);
    assert.equal(written.stderr, (jsonOnStdout ? listing : "") + summary);
  }
});

Deno.test(needing("pseudo-terminal", {
  name:
    "output: under a pseudo-terminal the line is redrawn with \\r, cleared, and the summary ends it",
  fn: async () => {
    const box = await makeTinySandbox(8, { zipDelayMs: 300 });
    try {
      const r = await runCli(["-c", "4", "."], {
        cwd: box.project,
        env: box.env({ NO_COLOR: "1" }),
        pty: true,
      });
      assert.equal(r.code, 0, r.stdout);
      const out = visible(r.stdout);
      const redraws = out.match(
        /\rgoprefetch: (fetching|installing|build list) \[[=> ]{20}\] \d+\/8 modules {2}[^\r\n]*<ESC>\[K/g,
      ) ?? [];
      assert.ok(redraws.length >= 3, JSON.stringify(r.stdout));
      assert.match(
        out,
        /\r<ESC>\[Kgoprefetch: 8 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed; [^\r\n]+ s\r\n$/,
      );
      assert.ok(!r.stdout.includes("\x1b[3"), "no colour under NO_COLOR");
    } finally {
      await box.remove();
    }
  },
}));

Deno.test(needing("pseudo-terminal", {
  name: "output: under a pseudo-terminal errors are red unless NO_COLOR is set",
  fn: async () => {
    const box = await makeTinySandbox(3);
    try {
      await box.corruptZipHash(box.specs[0]);
      for (const noColor of [false, true]) {
        const r = await runCli(["."], {
          cwd: box.project,
          env: box.env(noColor ? { NO_COLOR: "1" } : {}),
          pty: true,
        });
        assert.equal(r.code, 1, r.stdout);
        assert.match(visible(r.stdout), new RegExp(`error:(<ESC>\\[39m)? ${box.specs[0].path}@`));
        assert.equal(
          r.stdout.includes("\x1b[31merror:\x1b[39m"),
          !noColor,
          JSON.stringify(r.stdout),
        );
      }
    } finally {
      await box.remove();
    }
  },
}));

Deno.test(needing("pseudo-terminal", {
  name:
    "output: under a pseudo-terminal in colour, every frame fits the width, shows phase and bar, and ends reset",
  fn: async () => {
    const box = await makeTinySandbox(8, { zipDelayMs: 300 });
    try {
      for (const columns of [60, 200]) {
        await Deno.remove(box.gomodcache, { recursive: true }).catch(() => {});
        const r = await runCli(["-c", "4", "."], {
          cwd: box.project,
          env: box.env(),
          pty: true,
          columns,
        });
        assert.equal(r.code, 0, r.stdout);
        const frames = r.stdout.split("\r").filter((s) =>
          s.startsWith("goprefetch: ") && !s.includes("\n")
        );
        assert.ok(frames.length >= 3, JSON.stringify(r.stdout));
        for (const frame of frames) {
          assert.ok(frame.endsWith("\x1b[0m\x1b[K"), `not reset: ${visible(frame)}`);
          assert.ok(
            visibleWidth(frame) <= columns - 1,
            `${visibleWidth(frame)}: ${visible(frame)}`,
          );
          assert.match(frame, /^goprefetch: (fetching|installing|build list) \[[=> ]/);
        }
        if (columns === 200) {
          assert.ok(
            frames.some((f) =>
              /<ESC>\[2m {2}slowest \S+ \d+\.\d s<ESC>\[22m<ESC>\[0m<ESC>\[K$/.test(visible(f))
            ),
            "a frame with the slowest module, dimmed and closed",
          );
        }
        const summary = r.stdout.slice(r.stdout.lastIndexOf("\r\x1b[K") + 4);
        assert.match(summary, /^goprefetch: 8 fetched, 0 already cached, .* s\r\n$/);
        assert.ok(!summary.includes("\x1b[2m"), "the summary is not dim");
      }
    } finally {
      await box.remove();
    }
  },
}));

Deno.test("output: --dry-run lists modules in go.sum order, the same on every run", async () => {
  const box = await makeTinySandbox(40);
  try {
    const sum = await Deno.readTextFile(join(box.project, "go.sum"));
    const order = sum.split("\n").filter((l) => l !== "" && !l.includes("/go.mod "))
      .map((l) => l.split(" ").slice(0, 2).join("@"));
    assert.equal(order.length, 40);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(["--dry-run", "-c", "64", "."], {
        cwd: box.project,
        env: box.env(),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split(" ")[0]),
        order,
      );
      assert.equal(
        r.stderr,
        "goprefetch: dry run: 40 to fetch, 0 already cached, 0 skipped (private/direct); " +
          "nothing was fetched\n",
      );
    }
  } finally {
    await box.remove();
  }
});

Deno.test("output: the failure that stops the run points to --continue-on-error, once", async () => {
  const box = await makeTinySandbox(3);
  try {
    await box.corruptZipHash(box.specs[0]);
    const hint = "; stopping the run (--continue-on-error keeps going)";
    const stopped = await runCli(["-c", "1", "."], { cwd: box.project, env: box.env() });
    assert.equal(stopped.code, 1);
    const errors = stopped.stderr.split("\n").filter((l) => l.startsWith("goprefetch: error: "));
    assert.equal(errors.length, 1, stopped.stderr);
    assert.ok(errors[0].startsWith(`goprefetch: error: ${box.specs[0].path}@`), errors[0]);
    assert.ok(errors[0].endsWith(hint), errors[0]);
    const kept = await runCli(["--continue-on-error", "."], { cwd: box.project, env: box.env() });
    assert.equal(kept.code, 1);
    assert.ok(!kept.stderr.includes("--continue-on-error"), kept.stderr);
  } finally {
    await box.remove();
  }
});

Deno.test("output: an aborted library run reports interrupted, with the progress's bytes and the cache's modules", async () => {
  const box = await makeTinySandbox(12, { zipDelayMs: 400 });
  try {
    const stop = new AbortController();
    let bytes = 0;
    let finished = 0;
    const report = await prefetch({
      dir: box.project,
      concurrency: 2,
      signal: stop.signal,
      env: Object.fromEntries(Object.entries(box.env()).filter(([k]) => k.startsWith("GO"))),
      onProgress: (event) => {
        if (event.type === "bytes") bytes += event.bytes;
        if (event.type === "module" && event.record.status === "fetched" && ++finished === 2) {
          stop.abort();
        }
      },
    });
    assert.equal(report.interrupted, true);
    assert.equal(report.totals.bytes, bytes, "the bytes the progress counted");
    const complete = completeModules(box);
    const fetched = report.modules.filter((m) => m.status === "fetched").map((m) => m.path);
    assert.deepEqual(fetched.sort(), complete.sort(), "fetched is what the cache holds");
    assert.ok(report.totals.cancelled > 0 && report.totals.fetched < 12);
    assert.equal(report.totals.fetched + report.totals.cancelled, 12);
  } finally {
    await box.remove();
  }
});

Deno.test("output: SIGINT gives an interrupted summary whose modules are those in the cache", async () => {
  const box = await makeTinySandbox(12, { zipDelayMs: 400 });
  try {
    const report = join(box.tmp, "report.json");
    const child = cliCommand(["-c", "2", "--json", report, "."], {
      cwd: box.project,
      env: box.env({ NO_COLOR: "1" }),
    }).spawn();
    while (completeModules(box).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    const json: PrefetchReport = JSON.parse(await Deno.readTextFile(report));
    assert.equal(json.interrupted, true);
    const t = json.totals;
    const complete = completeModules(box);
    assert.equal(t.fetched, complete.length);
    assert.equal(
      stderr.split("\n").at(-2),
      `goprefetch: interrupted: ${t.fetched} fetched, 0 already cached, 0 skipped ` +
        `(private/direct), 0 failed, ${t.cancelled} cancelled; ${formatBytes(t.bytes)} in ` +
        `${t.seconds.toFixed(1)} s`,
    );
  } finally {
    await box.remove();
  }
});
