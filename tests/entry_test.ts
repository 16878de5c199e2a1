/**
 * The two entries: `deno run cli.ts` is the command line, and so is `mod.ts` run as a program
 * (`deno run jsr:@goprefetch/cli` runs the package's "." export); a program that imports
 * mod.ts as a library does not load the command line's code.
 */
import { makeTinySandbox } from "./support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { VERSION } from "../mod.ts";
import { listFiles } from "./support/small_project.ts";
import { runCli, runProcess } from "./support/cli.ts";
import { serveProxy } from "./support/proxy_server.ts";
import { makeTestCertificates } from "./support/tls.ts";

const ROOT = join(import.meta.dirname!, "..");

for (const entry of ["cli.ts", "mod.ts"]) {
  Deno.test(`entry: ${entry} prints the help, fetches a project, and reports a bad PATH`, async () => {
    const box = await makeTinySandbox(2);
    try {
      const opts = { cwd: box.project, env: box.env(), entry: join(ROOT, entry) };
      const help = await runCli(["--help"], opts);
      assert.equal(help.code, 0, help.stderr);
      assert.ok(help.stdout.startsWith(`goprefetch ${VERSION}: fill the Go module cache`));
      assert.equal(help.stderr, "");

      const run = await runCli(["-q", "."], opts);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "");
      assert.equal(box.proxy.requests.filter((r) => r.endsWith(".zip")).length, 2);
      assert.ok((await listFiles(box.gomodcache)).some((f) => f.endsWith(".ziphash")));

      const missing = join(box.tmp, "nowhere");
      const bad = await runCli([missing], opts);
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr, `goprefetch: ${missing} does not exist\n`);
    } finally {
      await box.remove();
    }
  });
}

Deno.test("entry: mod.ts reaches the command line only by a dynamic import", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "mod.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph: DenoInfo = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const isStatic = new Set<string>();
  const visit = (specifier: string): void => {
    if (isStatic.has(specifier)) return;
    isStatic.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic) continue;
      for (const target of [dep.code, dep.type]) if (target) visit(target.specifier);
    }
  };
  visit(graph.roots[0]);
  const local = (file: string) => pathToFileURL(join(ROOT, file)).href;
  assert.ok(modules.has(local("cli.ts")), "cli.ts is in the graph, as a dynamic import");
  const commandLine = [
    "cli.ts",
    "src/cli/args.ts",
    "src/cli/cache_key_command.ts",
    "src/cli/outcome.ts",
    "src/cli/output.ts",
    "src/cli/permissions.ts",
    "src/cli/verify_command.ts",
  ];
  for (const file of commandLine) {
    assert.ok(!isStatic.has(local(file)), `${file} is not imported by mod.ts`);
  }
  assert.ok(isStatic.has(local("src/engine/prefetch.ts")), "the walk follows static imports");
});

for (const scheme of ["http", "https"]) {
  Deno.test(`entry: a program that imports mod.ts ends once prefetch() has returned (${scheme})`, async () => {
    const box = await makeTinySandbox(2);
    const tls = scheme === "https" ? await makeTestCertificates(box.tmp) : undefined;
    const proxy = tls ? await serveProxy(join(box.tmp, "proxy"), { tls }) : box.proxy;
    try {
      const program = join(box.tmp, "build.ts");
      await Deno.writeTextFile(
        program,
        `import { prefetch } from ${JSON.stringify(pathToFileURL(join(ROOT, "mod.ts")).href)};\n` +
          "const report = await prefetch({ dir: Deno.args[0] });\n" +
          "console.log(report.totals.fetched);\n",
      );
      const env = box.env({ GOPROXY: proxy.url, ...(tls ? { DENO_CERT: tls.caFile } : {}) });
      const started = performance.now();
      const argv = [Deno.execPath(), "run", "-A", "--quiet", program, box.project];
      const run = await runProcess(argv, { cwd: box.tmp, env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "2\n");
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds < 8, `the program ended ${seconds.toFixed(1)} s after it started`);
    } finally {
      if (tls) await proxy.close();
      await box.remove();
    }
  });
}

/** What `deno info --json` prints, as far as this test reads it. */
interface DenoInfo {
  roots: string[];
  modules: {
    specifier: string;
    dependencies?: {
      isDynamic?: boolean;
      code?: { specifier: string };
      type?: { specifier: string };
    }[];
  }[];
}
