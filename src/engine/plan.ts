/**
 * What one module version needs, decided from what the cache holds and what go.sum says, and
 * from nothing else: no file system, no network. The pipeline only carries the plan out.
 *
 * @module
 */
import { type CacheState, zipComplete } from "../cache/module_cache.ts";
import type { ModuleSums } from "../project/gosum.ts";
import { hashGoMod } from "../zip/dirhash.ts";

/** A file of a module version in the cache that a run may fetch. */
export type ModuleFile = "info" | "mod" | "zip";

/** What a module version needs. */
export interface ModulePlan {
  /** The files to fetch, in the order a record lists them: `info`, `mod`, `zip`. */
  files: ModuleFile[];
  /**
   * The `.ziphash` of a complete tree when go.sum does not list it: go's `checkMod` refuses
   * such a module on every use, so the module fails and the tree is left as it is.
   */
  refusedZiphash?: string;
}

/**
 * Plans module `m` on cache state `state`, as go decides: a module go.sum lists with a zip
 * needs its `.info`, and its zip unless the tree is complete with a well-formed `.ziphash`; every
 * module needs a `.mod` that is present and, when go.sum lists its hash, matches it.
 *
 * @example
 * ```ts
 * import { planModule } from "./plan.ts";
 * const m = { path: "example.com/m", version: "v1.0.0", zipHashes: ["h1:..."], goModHashes: [] };
 * planModule({ tree: false, hasZip: false, hasInfo: false }, m).files; // ["info", "mod", "zip"]
 * ```
 */
export function planModule(state: CacheState, m: ModuleSums): ModulePlan {
  const zip = m.zipHashes.length > 0;
  const files: ModuleFile[] = [];
  if (zip && !state.hasInfo) files.push("info");
  const modMatches = state.mod !== undefined &&
    (m.goModHashes.length === 0 || m.goModHashes.includes(hashGoMod(state.mod)));
  if (!modMatches) files.push("mod");
  if (!zip) return { files };
  if (!zipComplete(state)) return { files: [...files, "zip"] };
  return m.zipHashes.includes(state.ziphash!)
    ? { files }
    : { files, refusedZiphash: state.ziphash };
}
