/**
 * Project discovery on real directories: which go.work applies (GOWORK off, auto, a file),
 * which sum files it brings, the workspace vendor rule, and vendored modules in a recursive run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type GoEnv, resolveGoEnv } from "../../src/project/go_env.ts";
import { currentHost, type Host } from "../../src/project/host.ts";
import { discoverProject, type Project, ProjectError } from "../../src/project/project.ts";

const SUM = "example.com/m v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydc=\n";

function envFor(tmp: string, extra: Record<string, string> = {}): GoEnv {
  return resolveGoEnv({
    env: { HOME: tmp, GOMODCACHE: join(tmp, "cache"), GOROOT: join(tmp, "goroot"), ...extra },
    os: "linux",
    readTextFile: () => undefined,
  });
}

async function withTree(
  files: Record<string, string>,
  fn: (tmp: string, host: Host) => void,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "goprefetch-project-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(join(tmp, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(tmp, name), text);
    }
    fn(tmp, { ...currentHost(), cwd: tmp });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function discover(tmp: string, host: Host, dir: string, extra = {}, recursive = false): Project {
  return discoverProject({ dir: join(tmp, dir), env: envFor(tmp, extra), recursive }, host);
}

const WORKSPACE = {
  "w/go.work": "go 1.22\n\nuse (\n\t./a\n\t./b\n)\n",
  "w/go.work.sum": SUM,
  "w/a/go.mod": "module example.com/a\n\ngo 1.22\n",
  "w/a/go.sum": SUM,
  "w/b/go.mod": "module example.com/b\n\ngo 1.22\n",
  "w/b/sub/README": "",
};

Deno.test("project: GOWORK unset finds go.work above PATH, even where there is no go.mod", async () => {
  await withTree(WORKSPACE, (tmp, host) => {
    for (const dir of ["w/b/sub", "w"]) {
      const p = discover(tmp, host, dir);
      assert.equal(p.mode, "workspace");
      assert.equal(p.workFile, join(tmp, "w/go.work"));
      assert.deepEqual(p.modules, [join(tmp, "w/a"), join(tmp, "w/b")]);
      assert.deepEqual(p.sumFiles, [join(tmp, "w/a/go.sum"), join(tmp, "w/go.work.sum")]);
    }
    assert.equal(discover(tmp, host, "w/a", { GOWORK: "auto" }).mode, "workspace");
  });
});

Deno.test("project: GOWORK=off is the module alone", async () => {
  await withTree(WORKSPACE, (tmp, host) => {
    const p = discover(tmp, host, "w/a", { GOWORK: "off" });
    assert.equal(p.mode, "module");
    assert.deepEqual(p.sumFiles, [join(tmp, "w/a/go.sum")]);
    assert.throws(() => discover(tmp, host, "w", { GOWORK: "off" }), /No go\.mod in/);
  });
});

Deno.test("project: GOWORK as a file path brings <file>.sum; a relative GOWORK is an error", async () => {
  await withTree({ ...WORKSPACE, "w/custom.work": "use ./a\n", "w/custom.work.sum": SUM }, (
    tmp,
    host,
  ) => {
    const p = discover(tmp, host, "w/b", { GOWORK: join(tmp, "w/custom.work") });
    assert.deepEqual(p.modules, [join(tmp, "w/a")]);
    assert.deepEqual(p.sumFiles, [join(tmp, "w/a/go.sum"), join(tmp, "w/custom.work.sum")]);
    assert.throws(
      () => discover(tmp, host, "w/b", { GOWORK: "w/custom.work" }),
      (e: Error) =>
        e instanceof ProjectError && /invalid GOWORK: not an absolute path/.test(e.message),
    );
  });
});

Deno.test("project: the search for go.work does not cross GOROOT", async () => {
  await withTree({ "go.work": "use ./goroot/src/m\n", "goroot/src/m/go.mod": "module m\n" }, (
    tmp,
    host,
  ) => {
    assert.equal(discover(tmp, host, "goroot/src/m").mode, "module");
  });
});

Deno.test("project: a used directory twice, or one without go.mod, is an error naming the line", async () => {
  await withTree({ ...WORKSPACE, "w/go.work": "use ./a\nuse ./a/\n" }, (tmp, host) => {
    assert.throws(
      () => discover(tmp, host, "w"),
      /go\.work:2: path .*\/w\/a appears multiple times/,
    );
  });
  await withTree({ ...WORKSPACE, "w/go.work": "use (\n\t./a\n\t./missing\n)\n" }, (tmp, host) => {
    assert.throws(() => discover(tmp, host, "w"), /go\.work:3: no go\.mod in .*\/w\/missing/);
  });
});

Deno.test("project: a workspace builds from vendor/ only when modules.txt is marked ## workspace", async () => {
  const vendor = (first: string) => ({ ...WORKSPACE, "w/vendor/modules.txt": first + "\n" });
  await withTree(vendor("## workspace"), (tmp, host) => {
    assert.match(discover(tmp, host, "w").vendor ?? "", /go\.work says go 1\.22.*nothing to fetch/);
  });
  await withTree(vendor("# example.com/m v1.0.0"), (tmp, host) => {
    assert.equal(discover(tmp, host, "w").vendor, undefined);
  });
  await withTree({ ...WORKSPACE, "w/a/vendor/modules.txt": "## explicit\n" }, (tmp, host) => {
    assert.equal(discover(tmp, host, "w").vendor, undefined, "a module's vendor/ is not used");
  });
});

Deno.test("project: --recursive lists vendored modules apart, and GOWORK does not apply", async () => {
  const files = {
    ...WORKSPACE,
    "w/b/vendor/modules.txt": "# example.com/m v1.0.0\n## explicit\n",
    "w/b/go.sum": SUM,
  };
  await withTree(files, (tmp, host) => {
    const p = discover(tmp, host, "w", {}, true);
    assert.equal(p.mode, "recursive");
    assert.equal(p.workFile, undefined);
    assert.deepEqual(p.modules, [join(tmp, "w/a"), join(tmp, "w/b")]);
    assert.deepEqual(p.sumFiles, [
      join(tmp, "w/go.work.sum"),
      join(tmp, "w/a/go.sum"),
      join(tmp, "w/b/go.sum"),
    ]);
    assert.equal(p.vendored.length, 1);
    assert.equal(p.vendored[0].sumFile, join(tmp, "w/b/go.sum"));
    assert.match(p.vendored[0].reason, /vendor\/ is present and go\.mod says go 1\.22/);
    const all = discover(tmp, host, "w", { GOFLAGS: "-mod=vendor" }, true);
    assert.match(all.vendor ?? "", /-mod=vendor/);
  });
});

Deno.test("project: a PATH that does not exist, or is a file, says so; a directory without go.mod says that", async () => {
  await withTree(
    { "m/go.mod": "module example.com/m\n\ngo 1.22\n", "empty/README": "" },
    (tmp, host) => {
      for (const recursive of [false, true]) {
        assert.throws(
          () => discover(tmp, host, "nowhere", { GOWORK: "off" }, recursive),
          new ProjectError(`${join(tmp, "nowhere")} does not exist`),
        );
        assert.throws(
          () => discover(tmp, host, "m/go.mod", { GOWORK: "off" }, recursive),
          new ProjectError(
            `${join(tmp, "m/go.mod")} is a file: PATH is the directory that holds go.mod`,
          ),
        );
      }
      assert.throws(
        () => discover(tmp, host, "empty", { GOWORK: "off" }),
        new ProjectError(
          `No go.mod in ${join(tmp, "empty")}: goprefetch needs the directory of a Go module or ` +
            "workspace (or --recursive)",
        ),
      );
    },
  );
});
