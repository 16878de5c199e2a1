/**
 * Project discovery: which go.sum files apply to a directory, as the go command decides it
 * (a single module, a go.work workspace, or every module under the directory with
 * `--recursive`), and whether go builds from vendor/ and so needs nothing from the cache.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { GoEnv } from "./go_env.ts";
import { compareGoVersions, type GoMod, parseGoMod, type Replace } from "./go_mod.ts";
import { parseGoWork } from "./go_work.ts";
import { type GoSum, mergeGoSums, parseGoSum } from "./gosum.ts";
import type { Host } from "./host.ts";

/** Where the go.sum files of a run come from. */
export interface Project {
  /** One module, a go.work workspace, or every module under the directory. */
  mode: "module" | "workspace" | "recursive";
  /** The go.work file in use, in workspace mode. */
  workFile?: string;
  /** The module roots: the module, the workspace's `use` directories, or every module found. */
  modules: string[];
  /** The go.sum and go.work.sum files that exist and apply, in the order they are merged. */
  sumFiles: string[];
  /** Set when go builds the project from vendor/ and so reads nothing from the cache. */
  vendor?: string;
  /** Modules of a recursive run that go builds from vendor/, and their go.sum if any. */
  vendored: { dir: string; reason: string; sumFile?: string }[];
  /** Each module root's go.mod, parsed; absent when go could not parse it either. */
  goMods: Map<string, GoMod>;
  /** The go.work file's `replace` directives, in workspace mode. */
  workReplace?: Replace[];
}

/** The directory does not hold what goprefetch needs, or go would reject its go.work. */
export class ProjectError extends Error {
  override name = "ProjectError";
}

/** How to look for the project. */
export interface ProjectOptions {
  /** The directory given on the command line, absolute. */
  dir: string;
  /** Take every go.mod under `dir` (GOWORK is then not consulted). */
  recursive?: boolean;
  /** The resolved go environment (GOWORK, GOFLAGS' -mod, GOROOT, GOMODCACHE). */
  env: GoEnv;
}

/**
 * Finds the go.sum files that apply to `opts.dir`. Without `recursive`: the go.work that
 * GOWORK selects (`off`: none; empty or `auto`: the nearest go.work in `dir` or above;
 * otherwise an absolute file path), whose `use` modules' go.sum files plus `<go.work>.sum`
 * apply; else the go.sum of the module in `dir`. With `recursive`: every go.mod under `dir`,
 * skipping `vendor`, `testdata`, GOMODCACHE and directories starting with `.` or `_`.
 *
 * @throws {ProjectError} when `dir` is not a directory, there is no module, a go.sum is
 * missing although go.mod has requirements, or the go.work is invalid.
 * @example
 * ```ts
 * const project = discoverProject({ dir: "/src/service", env }, currentHost());
 * const sum = readSumFiles(project.sumFiles, currentHost());
 * ```
 */
export function discoverProject(opts: ProjectOptions, host: Host): Project {
  if (!host.isDirectory(opts.dir)) {
    throw new ProjectError(
      host.exists(opts.dir)
        ? `${opts.dir} is a file: PATH is the directory that holds go.mod`
        : `${opts.dir} does not exist`,
    );
  }
  if (opts.recursive) return discoverRecursive(opts, host);
  const workFile = findWorkFile(opts, host);
  if (workFile !== undefined) return discoverWorkspace(workFile, opts.env, host);
  const goMod = host.readTextFile(join(opts.dir, "go.mod"));
  if (goMod === undefined) {
    throw new ProjectError(
      `No go.mod in ${opts.dir}: goprefetch needs the directory of a Go module or workspace ` +
        "(or --recursive)",
    );
  }
  const project: Project = {
    mode: "module",
    modules: [opts.dir],
    sumFiles: [],
    vendored: [],
    goMods: new Map(),
  };
  const goVersion = addGoMod(project, opts.dir, goMod);
  const vendor = vendorReason(host, opts.dir, goVersion, opts.env, false);
  if (vendor !== undefined) project.vendor = `${vendor}, nothing to fetch`;
  project.sumFiles = moduleSumFiles(host, opts.dir, goMod, vendor !== undefined);
  return project;
}

/**
 * Reads sum files, such as a project's `sumFiles`, and merges them into the hashes go accepts.
 * With `workFile` (a workspace's go.work), every file but `<workFile>.sum` is a go.sum of a
 * module the workspace uses, which go consults only where go.work.sum names nothing.
 *
 * @throws {ProjectError} for a line go would refuse, naming the file and line.
 */
export function readSumFiles(files: string[], host: Host, workFile?: string): GoSum {
  try {
    return mergeGoSums(files.map((name) => ({
      name,
      sum: parseGoSum(host.readTextFile(name) ?? "", name),
      workspace: workFile !== undefined && name !== workFile + ".sum",
    })));
  } catch (e) {
    throw new ProjectError((e as Error).message, { cause: e });
  }
}

/** go's `FindGoWork`: GOWORK, or a search upwards that does not cross GOROOT. */
function findWorkFile(opts: ProjectOptions, host: Host): string | undefined {
  const gowork = opts.env.GOWORK;
  if (gowork === "off") return undefined;
  if (gowork !== "" && gowork !== "auto") {
    if (!isAbsolute(gowork)) throw new ProjectError("invalid GOWORK: not an absolute path");
    return gowork;
  }
  for (let dir = opts.dir;;) {
    const file = join(dir, "go.work");
    if (!host.isDirectory(file) && host.readTextFile(file) !== undefined) return file;
    const parent = dirname(dir);
    if (parent === dir || parent === opts.env.GOROOT) return undefined;
    dir = parent;
  }
}

function discoverWorkspace(workFile: string, env: GoEnv, host: Host): Project {
  const text = host.readTextFile(workFile);
  if (text === undefined) throw new ProjectError(`Cannot read go.work file ${workFile}`);
  let work;
  try {
    work = parseGoWork(text, workFile);
  } catch (e) {
    throw new ProjectError((e as Error).message);
  }
  const workDir = dirname(workFile);
  const project: Project = {
    mode: "workspace",
    workFile,
    modules: [],
    sumFiles: [],
    vendored: [],
    goMods: new Map(),
    workReplace: work.replace,
  };
  for (const { dir, line } of work.use) {
    const root = resolve(workDir, dir);
    if (project.modules.includes(root)) {
      throw new ProjectError(
        `${workFile}:${line}: path ${root} appears multiple times in workspace`,
      );
    }
    const goMod = host.readTextFile(join(root, "go.mod"));
    if (goMod === undefined) {
      throw new ProjectError(`${workFile}:${line}: no go.mod in ${root}, which go.work uses`);
    }
    project.modules.push(root);
    addGoMod(project, root, goMod);
  }
  const vendor = vendorReason(host, workDir, work.go, env, true);
  if (vendor !== undefined) project.vendor = `${vendor}, nothing to fetch`;
  const files = [...project.modules.map((m) => join(m, "go.sum")), workFile + ".sum"];
  project.sumFiles = files.filter((f) => host.readTextFile(f) !== undefined);
  return project;
}

function discoverRecursive(opts: ProjectOptions, host: Host): Project {
  const project: Project = {
    mode: "recursive",
    modules: [],
    sumFiles: [],
    vendored: [],
    goMods: new Map(),
  };
  if (opts.env.mod === "vendor") {
    project.vendor = "GOFLAGS sets -mod=vendor: go builds from vendor/, nothing to fetch";
  }
  const skip = resolve(opts.env.GOMODCACHE);
  const walk = (dir: string): void => {
    const entries = host.readDir(dir);
    const names = new Set(entries.filter((e) => e.isFile).map((e) => e.name));
    if (names.has("go.mod")) addModule(project, host, dir, opts.env);
    if (names.has("go.work") && names.has("go.work.sum")) {
      project.sumFiles.push(join(dir, "go.work.sum"));
    }
    for (const e of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
      if (!e.isDirectory || /^[._]/.test(e.name)) continue;
      if (e.name === "vendor" || e.name === "testdata" || join(dir, e.name) === skip) continue;
      walk(join(dir, e.name));
    }
  };
  walk(opts.dir);
  if (project.modules.length === 0) {
    throw new ProjectError(`No go.mod in ${opts.dir} or below it`);
  }
  return project;
}

function addModule(project: Project, host: Host, dir: string, env: GoEnv): void {
  const goMod = host.readTextFile(join(dir, "go.mod")) ?? "";
  project.modules.push(dir);
  const reason = vendorReason(host, dir, addGoMod(project, dir, goMod), env, false);
  const files = moduleSumFiles(host, dir, goMod, reason !== undefined);
  project.sumFiles.push(...files);
  if (reason !== undefined) project.vendored.push({ dir, reason, sumFile: files[0] });
}

/** Records the parsed go.mod of the module in `dir` and returns its `go` version (`""` if none). */
function addGoMod(project: Project, dir: string, text: string): string {
  try {
    const goMod = parseGoMod(text, join(dir, "go.mod"));
    project.goMods.set(dir, goMod);
    return goMod.go;
  } catch {
    return "";
  }
}

/** The module's go.sum; go.mod without one must have no requirements, unless go uses vendor/. */
function moduleSumFiles(host: Host, dir: string, goMod: string, vendor: boolean): string[] {
  const file = join(dir, "go.sum");
  if (host.readTextFile(file) !== undefined) return [file];
  if (vendor || !/^\s*require\b/m.test(goMod)) return [];
  throw new ProjectError(
    `No go.sum in ${dir}: run "go mod tidy" to create it; goprefetch fetches what go.sum names`,
  );
}

/**
 * go's `setDefaultBuildMod`: vendor mode under `-mod=vendor`, or by default when `vendor/`
 * exists beside go.mod (go.work in a workspace), the go version there is 1.14 or later, and
 * vendor/modules.txt was written for the same mode (`## workspace` marks a workspace's).
 */
function vendorReason(
  host: Host,
  dir: string,
  goVersion: string,
  env: GoEnv,
  workspace: boolean,
): string | undefined {
  if (env.mod === "vendor") return "GOFLAGS sets -mod=vendor: go builds from vendor/";
  if (env.mod !== "") return undefined;
  if (goVersion === "" || compareGoVersions(goVersion, "1.14") < 0) return undefined;
  if (!host.isDirectory(join(dir, "vendor"))) return undefined;
  const modulesTxt = host.readTextFile(join(dir, "vendor", "modules.txt")) ?? "";
  if (isWorkspaceVendor(modulesTxt) !== workspace) return undefined;
  const file = workspace ? "go.work" : "go.mod";
  return `vendor/ is present and ${file} says go ${goVersion}: go builds from vendor/`;
}

/** `go work vendor` marks its modules.txt with a first line `## workspace`. */
function isWorkspaceVendor(modulesTxt: string): boolean {
  const first = modulesTxt.slice(0, 512).split("\n", 1)[0];
  return first.startsWith("## ") && first.slice(3).split(";").some((s) => s.trim() === "workspace");
}
