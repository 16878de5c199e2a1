/**
 * GitHub Actions: the Markdown step summary appended to `$GITHUB_STEP_SUMMARY`, failures as
 * `::error::` commands escaped by the workflow-command rules, and the composite action's
 * script run as the runner would run it.
 */
import { withTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { errorCommands, stepSummary } from "../../src/cli/github_actions.ts";
import type { ModuleRecord, PrefetchReport } from "../../src/engine/report.ts";
import { totalsOf } from "../../src/engine/report.ts";
import { DEFAULTS } from "../../src/engine/defaults.ts";
import { runCli } from "../support/cli.ts";

const ACTION_YML = join(import.meta.dirname!, "..", "..", "action.yml");

function record(path: string, ms: number, fields: Partial<ModuleRecord> = {}): ModuleRecord {
  return {
    path,
    version: "v1.0.0",
    zip: true,
    status: "fetched",
    bytes: 2048,
    ms,
    proxy: "https://proxy.example",
    retries: 0,
    files: ["info", "mod", "zip"],
    ...fields,
  };
}

function report(modules: ModuleRecord[]): PrefetchReport {
  return {
    tool: { name: "goprefetch", version: "0" },
    settings: {
      dir: "/p",
      gomodcache: "/c",
      goproxy: "https://proxy.example",
      gonoproxy: "",
      concurrency: 64,
      dryRun: false,
    },
    warnings: [],
    warningDetails: [],
    modules,
    totals: totalsOf(modules, 2.5),
  };
}

Deno.test("github: one ::error:: command per failed module, escaped, titled with the module", () => {
  const failed = record("example.com/b", 5, {
    status: "failed",
    error: "example.com/b@v1.0.0: 50% of\nthe zip",
  });
  assert.equal(
    errorCommands(report([record("example.com/a", 1), failed])),
    "::error title=goprefetch%3A example.com/b@v1.0.0::example.com/b@v1.0.0: 50%25 of%0Athe zip\n",
  );
  assert.equal(errorCommands(report([record("example.com/a", 1)])), "");
  const odd = record("example.com/a,b", 1, { status: "failed", error: "100%\r\ndone" });
  assert.equal(
    errorCommands(report([odd])),
    "::error title=goprefetch%3A example.com/a%2Cb@v1.0.0::100%25%0D%0Adone\n",
  );
  assert.equal(errorCommands("No go.mod in /x"), "::error title=goprefetch::No go.mod in /x\n");
});

Deno.test("github: the step summary has the totals, the five slowest modules and the failures", () => {
  const modules = [1, 7, 3, 9, 5, 2, 8].map((ms) => record(`example.com/m${ms}`, ms * 100));
  modules.push(
    record("example.com/bad", 9999, {
      status: "failed",
      error: "example.com/bad@v1.0.0: a | b `c`",
    }),
    record("example.com/c", 0, { status: "cached", bytes: 0 }),
  );
  const md = stepSummary(report(modules));
  assert.ok(md.startsWith("### goprefetch\n"), md);
  assert.ok(md.includes("| 7 | 1 | 0 | 1 | 0 | 16.0 KiB | 2.5 s |\n"), md);
  const slow = [...md.matchAll(/^\| (example\.com\/m\d)@v1\.0\.0 \| 2\.0 KiB \| (\d+) ms \|/gm)];
  assert.deepEqual(slow.map((m) => m[1]), [
    "example.com/m9",
    "example.com/m8",
    "example.com/m7",
    "example.com/m5",
    "example.com/m3",
  ]);
  assert.ok(md.includes("Failures:\n\n- `` example.com/bad@v1.0.0: a | b `c` ``\n"), md);
  assert.equal(stepSummary("No go.mod in /x"), "### goprefetch failed\n\n` No go.mod in /x `\n\n");
});

Deno.test("github: the CLI appends the summary and prints ::error:: for a failing module", async () => {
  await withTinySandbox(3, async (box) => {
    const bad = box.specs[1];
    await box.corruptZipHash(bad);
    const summary = join(box.tmp, "step_summary.md");
    await Deno.writeTextFile(summary, "from an earlier step\n");
    const env = box.env({ GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary });
    const r = await runCli(["--continue-on-error", "."], { cwd: box.project, env });
    assert.equal(r.code, 1, r.stderr);
    const commands = r.stdout.split("\n").filter((l) => l.startsWith("::error"));
    assert.equal(commands.length, 1, r.stdout);
    assert.ok(
      commands[0].startsWith(
        `::error title=goprefetch%3A ${bad.path}@${bad.version}::${bad.path}@${bad.version}: `,
      ),
      commands[0],
    );
    assert.match(commands[0], /checksum mismatch/);
    assert.equal(r.stdout, commands[0] + "\n", "nothing else on stdout");

    const md = await Deno.readTextFile(summary);
    assert.ok(md.startsWith("from an earlier step\n### goprefetch\n"), md);
    assert.match(md, /\| 2 \| 0 \| 0 \| 1 \| 0 \| [\d.]+ KiB \| [\d.]+ s \|/);
    assert.match(md, /Slowest modules:/);
    assert.ok(md.includes(`Failures:\n\n- \` ${bad.path}@${bad.version}: `), md);
  });
});

Deno.test("github: with the JSON report on stdout, ::error:: commands go to stderr", async () => {
  await withTinySandbox(3, async (box) => {
    await box.corruptZipHash(box.specs[0]);
    const env = box.env({ GITHUB_ACTIONS: "true" });
    const r = await runCli(["-q", "--json", "."], { cwd: box.project, env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).totals.failed, 1);
    assert.match(r.stderr, /^::error title=goprefetch%3A example\.com\//m);
  });
});

Deno.test("github: a run that cannot start is an ::error:: and a summary too", async () => {
  await withTinySandbox(3, async (box) => {
    const summary = join(box.tmp, "step_summary.md");
    const env = box.env({ GITHUB_STEP_SUMMARY: summary });
    const r = await runCli([join(box.tmp, "nowhere")], { cwd: box.project, env });
    assert.equal(r.code, 2, r.stderr);
    const nowhere = join(box.tmp, "nowhere");
    assert.equal(r.stdout, `::error title=goprefetch::${nowhere} does not exist\n`);
    assert.equal(
      await Deno.readTextFile(summary),
      `### goprefetch failed\n\n\` ${nowhere} does not exist \`\n\n`,
    );
  });
});

/** The scripts of action.yml's `run: |` steps, in order, unindented. */
function actionScripts(yml: string): string[] {
  const lines = yml.split("\n");
  const scripts: string[] = [];
  lines.forEach((line, at) => {
    if (line.trim() !== "run: |") return;
    const start = at + 1;
    const indent = lines[start].length - lines[start].trimStart().length;
    const end = lines.findIndex((l, i) =>
      i >= start && l.trim() !== "" && !l.startsWith(" ".repeat(indent))
    );
    scripts.push(
      lines.slice(start, end < 0 ? undefined : end).map((l) => l.slice(indent)).join("\n"),
    );
  });
  return scripts;
}

Deno.test("github: action.yml runs goprefetch with the inputs, scoped permissions and outputs", async () => {
  const yml = await Deno.readTextFile(ACTION_YML);
  assert.match(
    yml,
    /uses: denoland\/setup-deno@[0-9a-f]{40} # v2\.\d+\.\d+\n\s+with:\n\s+deno-version: 2\.9\.x/,
  );
  assert.match(
    yml,
    new RegExp(`\n  concurrency:\n.*\n    default: "${DEFAULTS.concurrency}"\n`),
    "the action's default -c is the command line's",
  );
  const [script, outputs] = actionScripts(yml);
  assert.ok(!script.includes("-A"), "the action runs with named permissions, not -A");
  assert.match(script, /"--allow-write=\$writes"/, "writes are scoped");
  assert.match(script, /"--allow-net=\$\(IFS=,; echo "\$\{hosts\[\*\]\}"\)"/, "hosts are scoped");
  const guarded = script.replace(/\$\{(\w+)\[@\]\+"\$\{\1\[@\]\}"\}/g, "");
  for (const array of ["extra", "key_args", "entries"]) {
    assert.ok(
      !guarded.includes(`\${${array}[@]}`),
      `bash 3.2 (macOS) takes an empty array for unset under set -u: expand ${array} guarded`,
    );
  }
  await withTinySandbox(3, async (box) => {
    const bash = async (code: string, env: Record<string, string>) => {
      const out = await new Deno.Command("bash", {
        args: ["-c", code],
        cwd: box.tmp,
        env: {
          ...box.env({ GOPROXY: "off" }),
          PATH: `${join(Deno.execPath(), "..")}:${Deno.env.get("PATH")}`,
          RUNNER_TEMP: box.tmp,
          GITHUB_STEP_SUMMARY: join(box.tmp, "summary.md"),
          ...env,
        },
        clearEnv: true,
        stdin: "null",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const run = async (args: string, proxy = box.proxy.url, path = "project") => {
      const githubOutput = join(box.tmp, `github-output-${crypto.randomUUID()}`);
      await Deno.writeTextFile(githubOutput, "");
      const step = await bash(script, {
        GITHUB_OUTPUT: githubOutput,
        GOPREFETCH_MOD: join(ACTION_YML, "..", "cli.ts"),
        GOPREFETCH_PATH: path,
        GOPREFETCH_CONCURRENCY: "2",
        GOPREFETCH_PROXY: proxy,
        GOPREFETCH_ARGS: args,
        GOPREFETCH_ALLOW_NET: "",
      });
      const report = /^report=(.+)$/m.exec(await Deno.readTextFile(githubOutput))?.[1] ?? "";
      const derived = await bash(outputs, {
        GITHUB_OUTPUT: githubOutput,
        GOPREFETCH_REPORT: report,
      });
      assert.equal(derived.code, 0, derived.stderr);
      const values = Object.fromEntries(
        (await Deno.readTextFile(githubOutput)).trim().split("\n").map((l) => l.split(/=(.*)/s)),
      );
      return { ...step, values, report };
    };

    const off = await run("--continue-on-error", "off");
    assert.equal(off.code, 1, off.stderr);
    assert.deepEqual([off.values.fetched, off.values.failed], ["0", "3"], "a run with failures");
    assert.match(off.values["cache-key"], /^[0-9a-f]{64}$/);

    const first = await run("-v --retries 1");
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr.split("\n").filter((l) => l.startsWith("fetched ")).length, 3);
    assert.match(first.stderr, /3 fetched, 0 already cached/);
    assert.equal(first.values.fetched, "3");
    assert.equal(first.values.failed, "0");
    assert.ok(first.report.startsWith(join(box.tmp, "goprefetch-report-")), first.report);
    const json = JSON.parse(await Deno.readTextFile(first.report));
    assert.equal(json.totals.fetched, 3);
    assert.equal(first.values["cache-key"], off.values["cache-key"]);
    assert.match(await Deno.readTextFile(join(box.tmp, "summary.md")), /### goprefetch\n/);

    const again = await run("");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 fetched, 3 already cached/, "no extra args");
    assert.deepEqual(
      [again.values.fetched, again.values.failed, again.values["cache-key"]],
      ["0", "0", first.values["cache-key"]],
    );

    const nowhere = await run("", box.proxy.url, "nowhere");
    assert.equal(nowhere.code, 2, nowhere.stderr);
    assert.deepEqual(Object.keys(nowhere.values), ["report"], "no counts nor key without a run");
  });
});

Deno.test("github: every action used is pinned by full commit SHA, with its tag in a comment", async () => {
  const root = join(import.meta.dirname!, "..", "..");
  const workflows = join(root, ".github", "workflows");
  const files = [ACTION_YML];
  for await (const entry of Deno.readDir(workflows)) files.push(join(workflows, entry.name));
  const pins = new Map<string, string>();
  let uses = 0;
  for (const file of files) {
    for (const line of (await Deno.readTextFile(file)).split("\n")) {
      const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m) continue;
      uses++;
      const [, target, rest] = m;
      const pinned = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(target);
      assert.ok(pinned, `${file}: ${target} is not pinned by a full commit SHA`);
      const tag = /^\s+# (v\d+(?:\.\d+)*)$/.exec(rest)?.[1];
      assert.ok(tag, `${file}: ${target} has no "# vX.Y.Z" comment naming its tag`);
      const pin = `${pinned[2]} ${tag}`;
      assert.equal(pins.get(pinned[1]) ?? pin, pin, `${pinned[1]} is pinned two ways`);
      pins.set(pinned[1], pin);
    }
  }
  assert.ok(uses >= 10, `only ${uses} uses: lines found`);
});
