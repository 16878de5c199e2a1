/**
 * The build list `go list -m all` prints, computed from go.mod files as go's `readModGraph`
 * and MVS do it: graph pruning for modules at go 1.17 and later, `exclude` and `replace`
 * of the main modules (and go.work's), and go's extra loading pass in a workspace.
 *
 * `go list -m all` asks the proxy for the `.info` of every module it lists, under
 * `GOPROXY=off` too, where a module without a cached `.info` is an error. The build list
 * names modules go.sum does not: requirements of pruned modules, whose go.mod go never reads.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import {
  compareGoVersions,
  type GoMod,
  moduleKey as key,
  type ModuleVersion,
  parseGoMod,
  type Replace,
} from "./go_mod.ts";
import { compareSemver } from "../module/semver.ts";

/** A main module: its directory and its parsed go.mod. */
export interface MainModule {
  /** The module's directory, absolute. */
  dir: string;
  /** Its go.mod. */
  goMod: GoMod;
}

/** The main modules of one build: one module, or the modules of a go.work workspace. */
export interface BuildListInput {
  /** The main modules. */
  mains: MainModule[];
  /** In a workspace: the go.work directory, absolute, and its replacements. */
  workspace?: { dir: string; replace: Replace[] };
}

/** Where go.mod texts come from; either returns undefined when it has none. */
export interface GoModSource {
  /** The go.mod of a module version, as the cache holds it. */
  module(m: ModuleVersion): string | undefined;
  /** The go.mod in a directory a `replace` points at. */
  dir(dir: string): string | undefined;
}

/** The computed build list. */
export interface BuildList {
  /** The selected version of every module in the graph but the main modules, sorted by path. */
  modules: ModuleVersion[];
  /**
   * The module versions whose `.info` `go list -m all` reads: each listed module, or its
   * replacement when replaced by another module version (none when replaced by a directory).
   */
  infoQueries: ModuleVersion[];
  /**
   * Module versions whose go.mod was needed and unavailable; a replacement directory has the
   * directory as `path` and `""` as `version`.
   */
  unreadable: ModuleVersion[];
}

type Pruning = "pruned" | "unpruned" | "workspace";

interface Summary {
  pruning: Pruning;
  require: ModuleVersion[];
}

/**
 * Computes the build list of `input`'s main modules from the go.mod files `source` holds.
 * A go.mod that is missing or unreadable contributes no requirements and is reported in
 * `unreadable`; the rest of the graph is still computed.
 *
 * @example
 * ```ts
 * import { computeBuildList } from "./build_list.ts";
 * import { parseGoMod } from "./go_mod.ts";
 * const goMod = parseGoMod("module m\ngo 1.22\nrequire example.com/a v1.0.0\n", "go.mod");
 * const list = computeBuildList({ mains: [{ dir: "/src/m", goMod }] }, {
 *   module: () => "module example.com/a\ngo 1.22\nrequire example.com/b v1.1.0\n",
 *   dir: () => undefined,
 * });
 * list.modules; // [example.com/a v1.0.0, example.com/b v1.1.0]
 * ```
 */
export function computeBuildList(input: BuildListInput, source: GoModSource): BuildList {
  return new Graph(input, source).run();
}

/** Orders versions as go's `cmpVersion`: `""` (a main module) above all, `none` below all. */
function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "") return 1;
  if (b === "") return -1;
  if (a === "none") return -1;
  if (b === "none") return 1;
  return compareSemver(a, b) || (a < b ? -1 : 1);
}

function pruningOf(goVersion: string): Pruning {
  return goVersion !== "" && compareGoVersions(goVersion, "1.17") >= 0 ? "pruned" : "unpruned";
}

/** go's `modfile.IsDirectoryPath`: a replacement target that is a file system path. */
function isDirectoryPath(path: string): boolean {
  return path === "." || path === ".." || /^\.\.?[/\\]/.test(path) || isAbsolute(path) ||
    /^[A-Za-z]:[/\\]/.test(path);
}

interface ResolvedReplace {
  old: ModuleVersion;
  to: ModuleVersion;
}

class Graph {
  readonly #mains = new Map<string, MainModule>();
  readonly #replaces: ResolvedReplace[][] = [];
  readonly #excluded = new Set<string>();
  readonly #selected = new Map<string, string>();
  readonly #required = new Map<string, ModuleVersion[]>();
  readonly #summaries = new Map<string, Summary | undefined>();
  readonly #loading = new Set<string>();
  readonly #queue: { m: ModuleVersion; pruning: Pruning }[] = [];
  readonly #unreadable: ModuleVersion[] = [];

  constructor(private readonly input: BuildListInput, private readonly source: GoModSource) {
    const { mains, workspace } = input;
    if (workspace) this.#replaces.push(resolveReplaces(workspace.replace, workspace.dir));
    for (const main of mains) {
      this.#mains.set(main.goMod.module, main);
      this.#selected.set(main.goMod.module, "");
      this.#replaces.push(resolveReplaces(main.goMod.replace, main.dir));
      for (const m of main.goMod.exclude) this.#excluded.add(key(m));
    }
  }

  run(): BuildList {
    const { mains, workspace } = this.input;
    if (workspace) {
      for (const main of mains) {
        this.#enqueue({ path: main.goMod.module, version: "" }, "workspace");
      }
      this.#drain();
      this.#workspacePass();
    } else {
      const main = mains[0];
      const roots = this.#withoutExcluded(main.goMod.require);
      this.#require({ path: main.goMod.module, version: "" }, roots);
      for (const r of roots) this.#enqueue(r, pruningOf(main.goMod.go));
      this.#drain();
    }
    const modules = [...this.#selected]
      .filter(([path, version]) => !this.#mains.has(path) && version !== "none")
      .map(([path, version]) => ({ path, version }))
      .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    const queries = new Map<string, ModuleVersion>();
    for (const m of modules) {
      const target = this.#replacement(m) ?? m;
      if (target.version !== "") queries.set(key(target), target);
    }
    return { modules, infoQueries: [...queries.values()], unreadable: this.#unreadable };
  }

  /** go's `Replacement`: go.work first, then the main modules' go.mod, exact version first. */
  #replacement(m: ModuleVersion): ModuleVersion | undefined {
    if (m.version === "" && this.#mains.has(m.path)) return undefined;
    for (const list of this.#replaces) {
      const hit = list.find((r) => r.old.path === m.path && r.old.version === m.version) ??
        list.find((r) => r.old.path === m.path && r.old.version === "");
      if (hit) return hit.to;
    }
    return undefined;
  }

  #withoutExcluded(require: ModuleVersion[]): ModuleVersion[] {
    return require.filter((r) => !this.#excluded.has(key(r)));
  }

  /** mvs `Graph.Require`: records m's requirements and raises the selected versions. */
  #require(m: ModuleVersion, require: ModuleVersion[]): void {
    this.#required.set(key(m), require);
    for (const r of require) {
      if (compareVersions(this.#selectedVersion(r.path), r.version) < 0) {
        this.#selected.set(r.path, r.version);
      }
    }
  }

  #selectedVersion(path: string): string {
    return this.#selected.get(path) ?? "none";
  }

  #enqueue(m: ModuleVersion, pruning: Pruning): void {
    if (m.version === "none") return;
    const k = `${key(m)} ${pruning}`;
    if (this.#loading.has(k)) return;
    this.#loading.add(k);
    this.#queue.push({ m, pruning });
  }

  #drain(): void {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      const { m, pruning } = next;
      const summary = this.#load(m);
      if (!summary) continue;
      const nextPruning = pruning === "unpruned" ? "unpruned" : summary.pruning;
      for (const r of summary.require) {
        if (pruning !== "pruned" || summary.pruning === "unpruned") this.#enqueue(r, nextPruning);
      }
    }
  }

  /** go's `loadOne`: m's go.mod summary, read once, its requirements recorded in the graph. */
  #load(m: ModuleVersion): Summary | undefined {
    const k = key(m);
    if (this.#summaries.has(k)) return this.#summaries.get(k);
    const summary = this.#summary(m);
    this.#summaries.set(k, summary);
    if (summary) this.#require(m, summary.require);
    return summary;
  }

  #summary(m: ModuleVersion): Summary | undefined {
    const main = m.version === "" ? this.#mains.get(m.path) : undefined;
    let goMod = main?.goMod;
    if (!goMod) {
      const target = this.#replacement(m) ?? m;
      const text = target.version === ""
        ? this.source.dir(target.path)
        : this.source.module(target);
      try {
        if (text !== undefined) goMod = parseGoMod(text, key(target));
      } catch {
        goMod = undefined;
      }
      if (!goMod) {
        this.#unreadable.push(target);
        return undefined;
      }
    }
    return { pruning: pruningOf(goMod.go), require: this.#withoutExcluded(goMod.require) };
  }

  /**
   * go loads, in a workspace, the selected version of every module whose dependencies may
   * provide packages in `all`, until no dependency is above the version that required it.
   */
  #workspacePass(): void {
    const hasDepsInAll = new Set(this.#mains.keys());
    const seen = new Set<string>();
    for (;;) {
      const needed = new Map<string, ModuleVersion>();
      for (const path of hasDepsInAll) {
        const m = { path, version: this.#selectedVersion(path) };
        if (!seen.has(key(m))) {
          needed.set(key(m), m);
          continue;
        }
        for (const r of this.#required.get(key(m)) ?? []) {
          const s = { path: r.path, version: this.#selectedVersion(r.path) };
          if (compareVersions(s.version, r.version) > 0 && !seen.has(key(s))) {
            needed.set(key(s), s);
          }
        }
      }
      if (needed.size === 0) return;
      for (const m of needed.values()) {
        this.#enqueue(m, "workspace");
        seen.add(key(m));
        hasDepsInAll.add(m.path);
      }
      this.#drain();
    }
  }
}

/** Directory replacements made absolute against the file they appear in. */
function resolveReplaces(replaces: Replace[], dir: string): ResolvedReplace[] {
  return replaces.map((r) => ({
    old: r.old,
    to: r.new.version === "" && isDirectoryPath(r.new.path)
      ? { path: resolve(dir, r.new.path), version: "" }
      : r.new,
  }));
}
