/**
 * What the command line prints: the live line on a terminal (redrawn at most ten times a
 * second, cleared at the end), a plain line every five seconds elsewhere, `-v` and `-q`, and
 * colour; first with a fake clock and terminal, then under a real pseudo-terminal.
 */
import assert from "node:assert/strict";
import { type Clock, Output, type OutputOptions } from "../src/output.ts";
import type { ModuleRecord, PrefetchReport } from "../src/report.ts";
import { totalsOf } from "../src/report.ts";
import { makeTinySandbox, runCli } from "./support/tiny_sandbox.ts";

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
  assert.equal(written.stderr, "goprefetch: 120/340 modules, 155.0 MiB, 31.0 MiB/s\n");
  out.event({ type: "start", path: "example.com/slow", version: "v1.0.0" });
  clock.advance(10_000);
  const lines = written.stderr.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(
    lines[2],
    "goprefetch: 120/340 modules, 155.0 MiB, 10.3 MiB/s, slowest example.com/slow@v1.0.0 10.0 s",
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
  assert.equal(
    redraws.at(-1),
    "goprefetch: 1/4 modules  2.0 MiB  1.0 MiB/s  0:02  ETA 0:06  slowest example.com/big@v1.0.0 2.0 s\x1b[K",
  );
  const before = written.stderr.length;
  out.finish(report([record("example.com/a", { bytes: 2 * MiB })], 2));
  assert.equal(
    written.stderr.slice(before),
    "\r\x1b[Kgoprefetch: 1 fetched, 0 already cached, 0 skipped (private/direct), 0 failed; " +
      "2.0 MiB in 2.0 s\n",
  );
  clock.advance(1000);
  assert.equal(
    written.stderr.length,
    before + written.stderr.slice(before).length,
    "timer stopped",
  );
});

Deno.test("output: the live line is cut to the terminal's width", () => {
  const { out, clock, written } = harness({ terminal: true, columns: () => 40 });
  out.event({ type: "plan", total: 1 });
  out.event({ type: "start", path: "example.com/a/very/long/module/path", version: "v1.0.0" });
  clock.advance(100);
  const line = written.stderr.replace("\r", "").replace("\x1b[K", "");
  assert.equal(line.length, 39);
  assert.ok(!line.includes("slowest"), line);
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

Deno.test("output: a dry run lists planned modules on stdout, or on stderr when JSON is there", () => {
  for (const jsonOnStdout of [false, true]) {
    const { out, clock, written } = harness({ terminal: true, dryRun: true, jsonOnStdout });
    out.event({ type: "plan", total: 1 });
    assert.deepEqual(clock.intervals, []);
    out.event({ type: "module", record: record("example.com/a", { status: "planned" }) });
    const line = "example.com/a@v1.0.0 info,mod,zip\n";
    assert.equal(jsonOnStdout ? written.stderr : written.stdout, line);
  }
});

Deno.test("output: under a pseudo-terminal the line is redrawn with \\r, cleared, and the summary ends it", async () => {
  const box = await makeTinySandbox(8, { zipDelayMs: 300 });
  try {
    const r = await runCli(["-c", "4", "."], {
      cwd: box.project,
      env: box.env({ NO_COLOR: "1" }),
      pty: true,
    });
    assert.equal(r.code, 0, r.stdout);
    const out = visible(r.stdout);
    const redraws = out.match(/\rgoprefetch: \d+\/8 modules {2}[^\r\n]*<ESC>\[K/g) ?? [];
    assert.ok(redraws.length >= 3, JSON.stringify(r.stdout));
    assert.match(
      out,
      /\r<ESC>\[Kgoprefetch: 8 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed; [^\r\n]+ s\r\n$/,
    );
    assert.ok(!r.stdout.includes("\x1b[3"), "no colour under NO_COLOR");
  } finally {
    await box.remove();
  }
});

Deno.test("output: under a pseudo-terminal errors are red unless NO_COLOR is set", async () => {
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
      assert.equal(r.stdout.includes("\x1b[31merror:\x1b[39m"), !noColor, JSON.stringify(r.stdout));
    }
  } finally {
    await box.remove();
  }
});
