/**
 * Cache states that a crash, a clean-up or a partial copy leave behind, each made from a cache
 * that `go mod download` filled: from the same state, goprefetch must end with the tree that
 * `GOPROXY=off go mod download` ends with, and make no request.
 */
import { makeTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ModulePaths, modulePaths } from "../../src/cache/module_cache.ts";
import { removeTree } from "../../src/util/files.ts";
import { diffTrees, makeWritable, runGo, snapshotTree } from "../support/go.ts";
import { fileIdentities } from "../support/go.ts";
import { runCli } from "../support/cli.ts";

const WRONG_H1 = `h1:${"A".repeat(43)}=`;
const notLock = (rel: string) => rel.endsWith(".lock");

interface State {
  name: string;
  /** Turns the complete entry at `p` into the state. */
  make(p: ModulePaths): void | Promise<void>;
  /**
   * What `go mod download` does: `same` when it succeeds (goprefetch must end with its tree,
   * and with `keepsTree` leave the extracted files untouched, as go does); `fails` when go
   * refuses the module, and goprefetch must too, with its message matching.
   */
  go: { same: true; keepsTree?: boolean } | { fails: RegExp };
}

const STATES: State[] = [
  {
    name: "a complete tree whose .ziphash is missing gets .ziphash from the .zip, not a new tree",
    make: (p) => Deno.remove(p.base + ".ziphash"),
    go: { same: true, keepsTree: true },
  },
  {
    name: "a complete tree whose .ziphash is malformed gets it rewritten from the .zip",
    make: (p) => Deno.writeTextFile(p.base + ".ziphash", "h1:not a hash\n"),
    go: { same: true, keepsTree: true },
  },
  {
    name: "a cached .zip and .ziphash whose tree is missing are extracted",
    make: (p) => removeTree(p.dir),
    go: { same: true },
  },
  {
    name: "a cached .zip alone is hashed and extracted",
    make: async (p) => {
      await Deno.remove(p.base + ".ziphash");
      removeTree(p.dir);
    },
    go: { same: true },
  },
  {
    name: "a tree marked .partial is extracted again",
    make: (p) => Deno.writeFile(p.base + ".partial", new Uint8Array()),
    go: { same: true },
  },
  {
    name: "a half-extracted tree marked .partial, without .ziphash, is extracted again",
    make: async (p) => {
      await Deno.writeFile(p.base + ".partial", new Uint8Array());
      await Deno.remove(p.base + ".ziphash");
      await makeWritable(p.dir);
      await Deno.remove(join(p.dir, "go.mod"));
    },
    go: { same: true },
  },
  {
    name: "a complete tree whose .ziphash go.sum does not list fails, as go refuses it",
    make: (p) => Deno.writeTextFile(p.base + ".ziphash", WRONG_H1),
    go: { fails: /checksum mismatch.*\.ziphash has h1:A{43}=.*SECURITY ERROR/ },
  },
];

Deno.test("each damaged cache state ends as go mod download leaves it, offline", async (t) => {
  const box = await makeTinySandbox(4);
  try {
    const base = join(box.tmp, "base");
    const filled = await runGo(["mod", "download"], {
      cwd: box.project,
      env: box.env({ GOMODCACHE: base }),
    });
    assert.equal(filled.code, 0, filled.stderr);
    const target = box.specs.find((s) => s.path === "example.com/Tiny/M003")!;
    const id = `${target.path}@${target.version}`;
    let n = 0;
    const prepare = async (make: State["make"]) => {
      const cache = join(box.tmp, `cache-${n++}`);
      const cp = await new Deno.Command("cp", { args: ["-a", base, cache] }).output();
      assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
      const p = modulePaths(cache, target.path, target.version);
      await make(p);
      return { cache, p };
    };
    const goOffline = (cache: string) =>
      runGo(["mod", "download"], {
        cwd: box.project,
        env: box.env({ GOMODCACHE: cache, GOPROXY: "off" }),
      });
    const goprefetch = async (cache: string) => {
      box.proxy.requests.length = 0;
      const run = await runCli(["-q", "."], {
        cwd: box.project,
        env: box.env({ GOMODCACHE: cache }),
      });
      assert.deepEqual(box.proxy.requests, [], "goprefetch made requests");
      return run;
    };

    for (const state of STATES) {
      await t.step(state.name, async () => {
        const a = await prepare(state.make);
        const b = await prepare(state.make);
        const keepsTree = "same" in state.go && state.go.keepsTree;
        const treesBefore = keepsTree
          ? await Promise.all([fileIdentities(a.p.dir), fileIdentities(b.p.dir)])
          : [];
        const [go, run] = await Promise.all([goOffline(a.cache), goprefetch(b.cache)]);
        if ("fails" in state.go) {
          assert.notEqual(go.code, 0, "go mod download accepted the state");
          assert.equal(run.code, 1, run.stderr);
          assert.match(
            run.stderr,
            new RegExp(`${id.replaceAll(".", "\\.")}: ${state.go.fails.source}`),
          );
        } else {
          assert.equal(go.code, 0, go.stderr);
          assert.equal(run.code, 0, run.stderr);
        }
        const goTree = await snapshotTree(a.cache, { ignore: notLock });
        assert.deepEqual(diffTrees(goTree, await snapshotTree(b.cache, { ignore: notLock })), []);
        if (keepsTree) {
          assert.deepEqual(await fileIdentities(a.p.dir), treesBefore[0], "go extracted again");
          assert.deepEqual(
            await fileIdentities(b.p.dir),
            treesBefore[1],
            "goprefetch extracted again",
          );
        }
      });
    }

    // The one deliberate difference: go trusts `.ziphash`, extracts, then refuses the module,
    // while goprefetch checks the h1 of what it extracts against go.sum and rewrites `.ziphash`.
    await t.step(
      "a cached .zip whose .ziphash go.sum does not list, without a tree, is repaired",
      async () => {
        const make: State["make"] = async (p) => {
          await Deno.writeTextFile(p.base + ".ziphash", WRONG_H1);
          removeTree(p.dir);
        };
        const go = await goOffline((await prepare(make)).cache);
        assert.match(go.stderr, /SECURITY ERROR/, "go refuses the state");
        const b = await prepare(make);
        const run = await goprefetch(b.cache);
        assert.equal(run.code, 0, run.stderr);
        const fresh = await snapshotTree(base, { ignore: notLock });
        assert.deepEqual(diffTrees(fresh, await snapshotTree(b.cache, { ignore: notLock })), []);
      },
    );
  } finally {
    await box.remove();
  }
});
