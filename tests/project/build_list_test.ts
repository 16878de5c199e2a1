/**
 * The build list: unit cases for pruning, selection, exclusion and replacement, and the real go
 * command as the oracle on a generated graph, for one module and for a workspace. goprefetch
 * must list exactly what `go list -m all` lists, and after a run `GOPROXY=off go list -m all`
 * must succeed.
 */
import { type ProxyProject, withProxyProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BuildListInput,
  computeBuildList,
  type GoModSource,
} from "../../src/project/build_list.ts";
import { parseGoMod } from "../../src/project/go_mod.ts";
import { cachedGoMods } from "../../src/cache/module_cache.ts";
import { type GoRun, runGo } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import type { ModuleSpec } from "../support/modules.ts";
import type { Fault } from "../support/proxy_server.ts";

const P = "example.com/bl/";

function goMod(path: string, go: string, requires: string[] = []): string {
  const lines = requires.map((r) => `require ${P}${r}\n`).join("");
  return `module ${P}${path}\n\ngo ${go}\n\n${lines}`;
}

/** A generated graph: pruned and unpruned modules, a selection raised by an edge go never loads. */
const GRAPH: ModuleSpec[] = [
  ["a", "v1.0.0", "1.21", ["b v1.1.0", "x v1.0.0"]],
  ["b", "v1.0.0", "1.21", ["c v1.0.0"]],
  ["b", "v1.1.0", "1.21", ["c v1.2.0"]],
  ["c", "v1.0.0", "1.21", []],
  ["c", "v1.2.0", "1.21", []],
  ["c", "v1.3.0", "1.21", []],
  ["u", "v1.0.0", "1.16", ["b v1.0.0", "d v1.0.0"]],
  ["d", "v1.0.0", "1.21", ["e v1.0.0"]],
  ["e", "v1.0.0", "1.16", ["c v1.3.0", "h v1.0.0"]],
  ["h", "v1.0.0", "1.21", ["z v1.0.0"]],
  ["z", "v1.0.0", "1.21", []],
  ["x", "v1.0.0", "1.21", []],
  ["x", "v1.1.0", "1.21", []],
  ["r", "v1.0.0", "1.21", []],
  ["r2", "v1.5.0", "1.21", ["f v1.0.0"]],
  ["f", "v1.0.0", "1.21", []],
  ["g", "v1.0.0", "1.21", []],
].map(([path, version, go, requires]) => ({
  path: P + path,
  version: version as string,
  goMod: goMod(path as string, go as string, requires as string[]),
}));

const MAIN_GO_MOD = `module example.com/main

go 1.21

require (
\t${P}a v1.0.0
\t${P}u v1.0.0
\t${P}r v1.0.0
\t${P}local v1.0.0
)

exclude ${P}c v1.3.0

replace ${P}r v1.0.0 => ${P}r2 v1.5.0

replace ${P}local => ./local
`;

const LIST_FORMAT = "{{if not .Main}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}}" +
  " {{.Version}}{{end}}{{end}}";

/** go's listing as lines `path version`, and the versions whose `.info` it reads. */
function parseListing(stdout: string): { modules: string[]; infoQueries: string[] } {
  const modules: string[] = [];
  const infoQueries: string[] = [];
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    const [module, replacement] = line.split(" => ");
    modules.push(module);
    const target = replacement ?? module;
    if (target.split(" ")[1]) infoQueries.push(target.trimEnd());
  }
  return { modules, infoQueries: infoQueries.sort() };
}

/**
 * Writes the main module (`mainGoMod`, and its `./local` replacement at `goVersion`) and runs
 * `go list -m all` with {@linkcode LIST_FORMAT} on the cache `tmp/cache-go`, which must succeed.
 */
async function listWithGo(p: ProxyProject, mainGoMod: string, goVersion: string): Promise<GoRun> {
  await Deno.writeTextFile(join(p.project, "go.mod"), mainGoMod);
  await Deno.mkdir(join(p.project, "local"));
  await Deno.writeTextFile(
    join(p.project, "local", "go.mod"),
    goMod("local", goVersion, ["g v1.0.0"]),
  );
  const listed = await runGo(["list", "-m", "-f", LIST_FORMAT, "all"], {
    cwd: p.project,
    env: p.env(join(p.tmp, "cache-go"), { GOFLAGS: "-mod=mod" }),
  });
  assert.equal(listed.code, 0, listed.stderr);
  return listed;
}

function ours(input: BuildListInput, gomodcache: string) {
  const list = computeBuildList(input, cachedGoMods(gomodcache));
  return {
    modules: list.modules.map((m) => `${m.path} ${m.version}`),
    infoQueries: list.infoQueries.map((m) => `${m.path} ${m.version}`).sort(),
    unreadable: list.unreadable,
  };
}

Deno.test("build list of a module equals go list -m all, and goprefetch makes it work offline", async () => {
  await withProxyProject("goprefetch-buildlist-", GRAPH, async (p) => {
    const { tmp, project, env } = p;
    const listed = await listWithGo(p, MAIN_GO_MOD, "1.21");
    const cacheGo = join(tmp, "cache-go");
    const go = parseListing(listed.stdout);
    assert.ok(go.modules.includes(`${P}b v1.1.0`), "a's unloaded edge raises b");
    assert.ok(go.modules.includes(`${P}c v1.0.0`), "c v1.3.0 is excluded, c v1.2.0 never loaded");
    assert.ok(go.modules.includes(`${P}z v1.0.0`), "unpruned paths load their whole closure");

    const input = {
      mains: [{ dir: project, goMod: parseGoMod(MAIN_GO_MOD, "go.mod") }],
    };
    assert.deepEqual(ours(input, cacheGo), { ...go, unreadable: [] });

    const cacheB = join(tmp, "cache-b");
    const run = await runCli(["--json", join(tmp, "report.json"), "."], {
      cwd: project,
      env: env(cacheB),
    });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(await Deno.readTextFile(join(tmp, "report.json")));
    assert.equal(report.buildList.modules, go.modules.length);
    const offline = await runGo(["list", "-m", "-f", LIST_FORMAT, "all"], {
      cwd: project,
      env: env(cacheB, { GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" }),
    });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, listed.stdout);
  });
});

Deno.test("build list of a main module below go 1.17 loads the whole graph, as go does", async () => {
  const old = GRAPH.map((m) => ({ ...m, goMod: m.goMod?.replace("go 1.21", "go 1.16") }));
  await withProxyProject("goprefetch-buildlist-old-", old, async (p) => {
    const { tmp, project } = p;
    const text = MAIN_GO_MOD.replace("go 1.21", "go 1.16");
    const listed = await listWithGo(p, text, "1.16");
    const cacheGo = join(tmp, "cache-go");
    assert.equal(await Deno.readTextFile(join(project, "go.mod")), text, "go left go.mod as is");
    const go = parseListing(listed.stdout);
    assert.ok(go.modules.includes(`${P}c v1.2.0`), "b v1.1.0's go.mod is loaded too");
    const input = { mains: [{ dir: project, goMod: parseGoMod(text, "go.mod") }] };
    assert.deepEqual(ours(input, cacheGo), { ...go, unreadable: [] });
  });
});

Deno.test("build list: a .info the proxy refuses (404, 410, 403, or 404 before direct) is one warning, not a failure", async () => {
  let refuse: { status: number; ids: string[] } | undefined;
  const fault: Fault = (_req, path) => {
    const hit = refuse?.ids.some((id) => path === `/${id.replace("@", "/@v/")}.info`);
    return hit
      ? new Response(`refused with ${refuse!.status}\n`, { status: refuse!.status })
      : undefined;
  };
  await withProxyProject("goprefetch-buildlist-gone-", GRAPH, async (p) => {
    const { tmp, project, env, proxy } = p;
    await listWithGo(p, MAIN_GO_MOD, "1.21");
    const sum = await Deno.readTextFile(join(project, "go.sum"));
    const input = { mains: [{ dir: project, goMod: parseGoMod(MAIN_GO_MOD, "go.mod") }] };
    const infoOnly = ours(input, join(tmp, "cache-go")).infoQueries
      .filter((q) => !sum.includes(`${q} h1:`)).map((q) => q.replace(" ", "@"));
    assert.ok(infoOnly.includes(`${P}x@v1.0.0`) && infoOnly.length >= 5, infoOnly.join());
    const x = `${P}x@v1.0.0`;
    const sorted = [...infoOnly].sort();
    const consequence = 'of the build list, so "GOPROXY=off go list -m all" will fail for';
    const statusText: Record<number, string> = { 403: "Forbidden", 404: "Not Found", 410: "Gone" };
    const cases: [number, string, string[], string][] = [
      ...[404, 410, 403].map((status): [number, string, string[], string] => [
        status,
        proxy.url,
        [x],
        `No .info fetched for ${x} ${consequence} it: ${proxy.url}: ${status} ` +
        `${statusText[status]}: refused with ${status}`,
      ]),
      [
        404,
        `${proxy.url},direct`,
        [x],
        `No .info fetched for ${x} ${consequence} it: not on any proxy before "direct"; ` +
        "the go command fetches it itself",
      ],
      [
        404,
        proxy.url,
        infoOnly,
        `No .info fetched for ${sorted.length} modules of the build list (` +
        `${sorted.slice(0, 3).join(", ")} and ${sorted.length - 3} more), so ` +
        `"GOPROXY=off go list -m all" will fail for them: ${sorted[0]}: ${proxy.url}: ` +
        "404 Not Found: refused with 404",
      ],
    ];
    for (const [i, [status, goproxy, ids, message]] of cases.entries()) {
      refuse = { status, ids };
      const report = join(tmp, `report-${i}.json`);
      const run = await runCli(["--json", report, "."], {
        cwd: project,
        env: env(join(tmp, `cache-${i}`), {}, goproxy),
      });
      assert.equal(run.code, 0, run.stderr);
      const { warnings, warningDetails, totals } = JSON.parse(await Deno.readTextFile(report));
      assert.equal(totals.failed, 0);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.equal(warnings[0], message);
      assert.deepEqual(warningDetails, [
        { kind: "build-list-info", message, modules: [...ids].sort() },
      ]);
      assert.equal(
        run.stderr.split("\n").filter((l) => l.startsWith("goprefetch: warning: ")).join("\n"),
        `goprefetch: warning: ${warnings[0]}`,
      );
    }
    refuse = undefined;
    const report = join(tmp, "report-direct.json");
    const direct = await runCli(["--json", report, "."], {
      cwd: project,
      env: env(join(tmp, "cache-0"), {}, "direct"),
    });
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(report)).warnings, [
      `No .info fetched for ${x} ${consequence} it: not on any proxy before "direct"; ` +
      "the go command fetches it itself",
    ], "GOPROXY=direct on the cache of the 404 run: nothing missing but that .info");
  }, { fault });
});

Deno.test("build list of a workspace equals go list -m all, go.work replacements first", async () => {
  await withProxyProject("goprefetch-buildlist-ws-", GRAPH, async ({ tmp, project, env }) => {
    const w1 =
      `module example.com/w1\n\ngo 1.21\n\nrequire (\n\t${P}a v1.0.0\n\t${P}r v1.0.0\n)\n\n` +
      `replace ${P}r v1.0.0 => ${P}x v1.1.0\n`;
    const w2 = `module example.com/w2\n\ngo 1.21\n\n` +
      `require (\n\t${P}u v1.0.0\n\t${P}x v1.0.0\n\t${P}b v1.0.0\n)\n\nexclude ${P}c v1.3.0\n`;
    const work = `go 1.21\n\nuse (\n\t./w1\n\t./w2\n)\n\nreplace ${P}r v1.0.0 => ${P}r2 v1.5.0\n`;
    for (const [dir, text] of [["w1", w1], ["w2", w2]]) {
      await Deno.mkdir(join(project, dir));
      await Deno.writeTextFile(join(project, dir, "go.mod"), text);
    }
    await Deno.writeTextFile(join(project, "go.work"), work);
    const cacheGo = join(tmp, "cache-go");
    const gowork = { GOWORK: join(project, "go.work") };
    const listed = await runGo(["list", "-m", "-f", LIST_FORMAT, "all"], {
      cwd: project,
      env: env(cacheGo, gowork),
    });
    assert.equal(listed.code, 0, listed.stderr);
    const go = parseListing(listed.stdout);
    assert.ok(go.infoQueries.includes(`${P}r2 v1.5.0`), "go.work's replacement wins");
    assert.ok(go.modules.includes(`${P}c v1.2.0`), "the workspace pass loads b v1.1.0");

    const input = {
      mains: [
        { dir: join(project, "w1"), goMod: parseGoMod(w1, "w1/go.mod") },
        { dir: join(project, "w2"), goMod: parseGoMod(w2, "w2/go.mod") },
      ],
      workspace: {
        dir: project,
        replace: [{
          old: { path: `${P}r`, version: "v1.0.0" },
          new: { path: `${P}r2`, version: "v1.5.0" },
        }],
      },
    };
    assert.deepEqual(ours(input, cacheGo), { ...go, unreadable: [] });

    const cacheB = join(tmp, "cache-b");
    const run = await runCli(["."], { cwd: project, env: env(cacheB, gowork) });
    assert.equal(run.code, 0, run.stderr);
    const offline = await runGo(["list", "-m", "-f", LIST_FORMAT, "all"], {
      cwd: project,
      env: env(cacheB, { ...gowork, GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" }),
    });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, listed.stdout);
  });
});

/** An in-memory go.mod source: `path@version` to go.mod text. */
function memory(mods: Record<string, string>, dirs: Record<string, string> = {}): GoModSource {
  return { module: (m) => mods[`${m.path}@${m.version}`], dir: (d) => dirs[d] };
}

Deno.test("build list: a missing go.mod is reported and its requirements are left out", () => {
  const main = parseGoMod("module m\ngo 1.16\nrequire (\n\ta v1.0.0\n\tb v1.0.0\n)\n", "go.mod");
  const list = computeBuildList(
    { mains: [{ dir: "/m", goMod: main }] },
    memory({ "a@v1.0.0": "module a\nrequire c v1.0.0\n" }),
  );
  assert.deepEqual(list.modules.map((m) => `${m.path} ${m.version}`), [
    "a v1.0.0",
    "b v1.0.0",
    "c v1.0.0",
  ]);
  assert.deepEqual(list.unreadable, [
    { path: "b", version: "v1.0.0" },
    { path: "c", version: "v1.0.0" },
  ]);
});

Deno.test("build list: a cycle back to the main module and go.mod without a go line", () => {
  const main = parseGoMod("module m\ngo 1.21\nrequire a v1.0.0\n", "go.mod");
  const list = computeBuildList(
    { mains: [{ dir: "/m", goMod: main }] },
    memory({
      "a@v1.0.0": "module a\nrequire (\n\tm v0.1.0\n\tb v1.0.0\n)\n",
      "m@v0.1.0": "module m\ngo 1.21\nrequire a v1.1.0\n",
      "b@v1.0.0": "module b\ngo 1.21\n",
    }),
  );
  assert.deepEqual(list.modules.map((m) => `${m.path} ${m.version}`), [
    "a v1.1.0",
    "b v1.0.0",
  ]);
  assert.deepEqual(list.unreadable, [{ path: "a", version: "v1.1.0" }]);
});

Deno.test("build list: a directory replacement is listed but has no .info to read", () => {
  const main = parseGoMod(
    "module m\ngo 1.21\nrequire a v1.0.0\nreplace a => ../a\n",
    "go.mod",
  );
  const list = computeBuildList(
    { mains: [{ dir: "/src/m", goMod: main }] },
    memory({}, { "/src/a": "module a\ngo 1.21\nrequire b v1.0.0\n" }),
  );
  assert.deepEqual(list.modules.map((m) => `${m.path} ${m.version}`), ["a v1.0.0", "b v1.0.0"]);
  assert.deepEqual(list.infoQueries, [{ path: "b", version: "v1.0.0" }]);
});
