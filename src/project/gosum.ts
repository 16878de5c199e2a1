/**
 * Parsing go.sum and go.work.sum files into the module versions they name, and the hashes
 * go accepts for each.
 *
 * @module
 */
import { EMPTY_GO_MOD_HASH } from "../zip/dirhash.ts";

/** One module version named by go.sum, with the hashes go accepts for it. */
export interface ModuleSums {
  /** Module path, unescaped. */
  path: string;
  /** Module version, unescaped. */
  version: string;
  /** h1 hashes go accepts for the module zip (`path version h1:...`); empty when only go.mod is needed. */
  zipHashes: string[];
  /** h1 hashes go accepts for the module's go.mod (`path version/go.mod h1:...`). */
  goModHashes: string[];
}

/** What go.sum files say: the module versions in first-seen order, and warnings. */
export interface GoSum {
  /** Module versions keyed by `path@version`. */
  modules: Map<string, ModuleSums>;
  /** Warnings such as unknown hash algorithms, with file and line. */
  warnings: string[];
}

/** A go.sum line that go itself would refuse. */
export class GoSumError extends Error {
  /** `"GoSumError"`. */
  override name = "GoSumError";
}

/**
 * Parses go.sum text the way go's `readGoSum` reads it and `haveModSumLocked` checks it:
 * three fields a line, blank lines skipped, hashes other than `h1:` warned about and
 * ignored, the empty-go.mod hash dropped. Of several `h1:` lines for one module version,
 * go checks a download against the first and fails on a mismatch, so only the first is
 * accepted; a later, different one is warned about.
 *
 * @example
 * ```ts
 * import { parseGoSum } from "jsr:@goprefetch/cli";
 * const sum = parseGoSum(await Deno.readTextFile("go.sum"), "go.sum");
 * for (const m of sum.modules.values()) console.log(m.path, m.version, m.zipHashes[0] ?? "go.mod only");
 * ```
 */
export function parseGoSum(text: string, fileName: string): GoSum {
  const sum: GoSum = { modules: new Map(), warnings: [] };
  const firstLine = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].split(/[ \t\r]+/).filter((f) => f !== "");
    if (fields.length === 0) continue;
    if (fields.length !== 3) {
      throw new GoSumError(
        `Malformed go.sum: ${fileName}:${i + 1}: wrong number of fields ${fields.length}`,
      );
    }
    const [path, rawVersion, hash] = fields;
    if (hash === EMPTY_GO_MOD_HASH) continue;
    const isGoMod = rawVersion.endsWith("/go.mod");
    const version = isGoMod ? rawVersion.slice(0, -"/go.mod".length) : rawVersion;
    if (!hash.startsWith("h1:")) {
      sum.warnings.push(
        `${fileName}:${i + 1}: unknown hash algorithm for ${path}@${version}, line ignored`,
      );
      continue;
    }
    const entry = entryFor(sum, path, version);
    const hashes = isGoMod ? entry.goModHashes : entry.zipHashes;
    const line = `${path} ${rawVersion}`;
    if (hashes.length === 0) {
      hashes.push(hash);
      firstLine.set(line, i + 1);
    } else if (hashes[0] !== hash) {
      sum.warnings.push(
        `${fileName}:${i + 1}: ${line} has a second h1 hash, which go never accepts: ` +
          `it checks downloads against line ${firstLine.get(line)} and fails on a mismatch`,
      );
    }
  }
  return sum;
}

/** One parsed sum file, and whether it is a workspace module's go.sum. */
export interface SumFile {
  /** The file's path, for warnings. */
  name: string;
  /** What it says. */
  sum: GoSum;
  /**
   * A go.sum of a module that go.work uses: go checks it only for versions the main sum file
   * (go.work.sum) does not name, and then every such file must agree.
   */
  workspace: boolean;
}

/**
 * Merges sum files as go's `haveModSumLocked` consults them: a hash from a main file (go.sum;
 * go.work.sum in a workspace; in a `--recursive` run every file, each for its own build) is
 * accepted as it is; a version no main file names takes its hash from the workspace modules'
 * go.sum files, which go accepts only when they all agree. Where they disagree go rejects
 * every download, so the version is left out, with a warning.
 */
export function mergeGoSums(files: SumFile[]): GoSum {
  const merged: GoSum = { modules: new Map(), warnings: files.flatMap((f) => f.sum.warnings) };
  for (const { sum } of files) {
    for (const m of sum.modules.values()) entryFor(merged, m.path, m.version);
  }
  for (const { sum } of files.filter((f) => !f.workspace)) {
    for (const m of sum.modules.values()) {
      const entry = entryFor(merged, m.path, m.version);
      addNew(entry.zipHashes, m.zipHashes);
      addNew(entry.goModHashes, m.goModHashes);
    }
  }
  const votes = new Map<string, { accepted: string[]; byHash: Map<string, string[]> }>();
  for (const { name, sum } of files.filter((f) => f.workspace)) {
    for (const m of sum.modules.values()) {
      const entry = entryFor(merged, m.path, m.version);
      const lines = [
        [`${m.path} ${m.version}`, entry.zipHashes, m.zipHashes],
        [`${m.path} ${m.version}/go.mod`, entry.goModHashes, m.goModHashes],
      ] as const;
      for (const [line, accepted, hashes] of lines) {
        if (hashes.length === 0) continue;
        let vote = votes.get(line);
        if (vote === undefined) {
          if (accepted.length > 0) continue;
          vote = { accepted, byHash: new Map() };
          votes.set(line, vote);
        }
        vote.byHash.set(hashes[0], [...(vote.byHash.get(hashes[0]) ?? []), name]);
      }
    }
  }
  for (const [line, { accepted, byHash }] of votes) {
    if (byHash.size === 1) {
      accepted.push(...byHash.keys());
      continue;
    }
    const which = [...byHash].map(([h, names]) => `${names.join(" and ")} ${h}`).join(", ");
    merged.warnings.push(
      `${line}: the workspace's go.sum files disagree (${which}): go rejects every download ` +
        `of it, so goprefetch leaves it out; run "go mod tidy" in each module to settle it`,
    );
  }
  for (const [key, m] of merged.modules) {
    if (m.zipHashes.length === 0 && m.goModHashes.length === 0) merged.modules.delete(key);
  }
  return merged;
}

function entryFor(sum: GoSum, path: string, version: string): ModuleSums {
  const key = `${path}@${version}`;
  let entry = sum.modules.get(key);
  if (!entry) {
    entry = { path, version, zipHashes: [], goModHashes: [] };
    sum.modules.set(key, entry);
  }
  return entry;
}

function addNew(into: string[], hashes: string[]): void {
  for (const h of hashes) if (!into.includes(h)) into.push(h);
}
