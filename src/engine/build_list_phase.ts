/**
 * The build-list phase of a run: once every go.mod is in the cache, the `.info` files that
 * `GOPROXY=off go list -m all` would read are fetched, best effort.
 *
 * @module
 */
import { cachedGoMods, modulePaths } from "../cache/module_cache.ts";
import { UnreachableError } from "../goproxy/goproxy.ts";
import { ModuleError } from "../module/module_error.ts";
import { matchPrefixPatterns } from "../module/module_path.ts";
import { computeBuildList } from "../project/build_list.ts";
import { moduleKey, type ModuleVersion } from "../project/go_mod.ts";
import { mkdirAll, statIfThere } from "../util/files.ts";
import { startEach } from "../util/turns.ts";
import { fetchInfo, type Tally } from "./module_files.ts";
import type { Context } from "./pipeline_context.ts";
import type { BuildListReport, ReportWarning } from "./report.ts";
import { type MissingInfo, missingInfos } from "./warnings.ts";

/** What the build-list phase did, and what it warns of. */
export interface BuildListOutcome {
  /** The build list's `.info` files, when there was a build list to complete. */
  buildList?: BuildListReport;
  /** `.info` files not fetched, and go.mod files the build list could not read. */
  warnings: ReportWarning[];
}

/**
 * Go writes `.info` only for modules it downloads, yet `GOPROXY=off go list -m all` needs it
 * for every module in the build list, including modules go.sum names only by their go.mod and
 * requirements of pruned modules that go.sum does not name at all. Once every go.mod is in the
 * cache, goprefetch computes the build list and fetches the missing `.info` files, best effort:
 * go never asks for them during a build, so a failure is a warning, not a failed module.
 */
export async function completeBuildList(ctx: Context): Promise<BuildListOutcome> {
  const { buildLists, dryRun, root, modules, gonoproxy } = ctx.opts;
  if (buildLists.length === 0 || dryRun || ctx.signal.aborted) return { warnings: [] };
  const source = cachedGoMods(root);
  const zips = new Set(modules.filter((m) => m.zipHashes.length > 0).map(moduleKey));
  const named = new Set(modules.map(moduleKey));
  const queries = new Map<string, ModuleVersion>();
  const unnamed = new Set<string>();
  const noGoModDirs = new Set<string>();
  let listed = 0;
  for (const input of buildLists) {
    const list = computeBuildList(input, source);
    listed = Math.max(listed, list.modules.length);
    for (const m of list.infoQueries) queries.set(moduleKey(m), m);
    for (const m of list.unreadable) {
      if (m.version === "") noGoModDirs.add(m.path);
      else if (!named.has(moduleKey(m))) unnamed.add(moduleKey(m));
    }
  }
  const report: BuildListReport = { modules: listed, infoFetched: 0, bytes: 0, retries: 0 };
  const warnings: ReportWarning[] = [];
  if (unnamed.size > 0) {
    warnings.push({
      kind: "other",
      message: `The build list is incomplete: go.sum names no go.mod for ${
        [...unnamed].join(", ")
      }; run "go mod tidy" to record them`,
    });
  }
  if (noGoModDirs.size > 0) {
    const [noun, verb] = noGoModDirs.size === 1 ? ["directory", "has"] : ["directories", "have"];
    warnings.push({
      kind: "other",
      message: `The build list is incomplete: replacement ${noun} ${
        [...noGoModDirs].join(", ")
      } ${verb} no go.mod`,
    });
  }
  const missing: MissingInfo[] = [];
  const wanted = [...queries.values()].filter((m) =>
    !zips.has(moduleKey(m)) && !matchPrefixPatterns(gonoproxy, m.path)
  );
  await Promise.all(await startEach(wanted, (m) => fetchMissingInfo(ctx, m, report, missing)));
  const missed = missingInfos(missing);
  return { buildList: report, warnings: missed ? [...warnings, missed] : warnings };
}

/**
 * Fetches the `.info` of `m` unless the cache has it, counted in `report`; a failure goes to
 * `missing` (and a proxy that cannot be reached ends the run).
 */
async function fetchMissingInfo(
  ctx: Context,
  m: ModuleVersion,
  report: BuildListReport,
  missing: MissingInfo[],
): Promise<void> {
  const p = modulePaths(ctx.opts.root, m.path, m.version);
  if (statIfThere(p.base + ".info") || ctx.signal.aborted) return;
  try {
    mkdirAll(p.atV);
    const got: Tally = { bytes: 0, retries: 0 };
    await fetchInfo(ctx, m, p, got, true);
    report.infoFetched++;
    report.bytes += got.bytes;
    report.retries += got.retries;
  } catch (e) {
    if (e instanceof UnreachableError) ctx.unreachable(e);
    if (ctx.signal.aborted) return;
    missing.push({ id: moduleKey(m), why: ModuleError.of(m.path, m.version, e).detail });
  }
}
