/**
 * Verifying one cached module version as `go mod verify` does (the `.zip` and the extracted
 * tree against `.ziphash`), and also comparing `.ziphash` and `.mod` with go.sum, which go
 * checks only when a build uses them.
 *
 * @module
 */
import { ModuleError } from "../module/module_error.ts";
import { hashDir, hashGoMod, hashZipFile } from "../zip/dirhash.ts";
import type { ModuleSums } from "../project/gosum.ts";
import { modulePaths } from "./module_cache.ts";

/**
 * What verify found for one module version:
 * - `ok`: what the cache holds matches `.ziphash` and go.sum;
 * - `absent`: not downloaded (like `go mod verify`, not an error);
 * - `modified`: see `problems`.
 */
export type VerifyStatus = "ok" | "absent" | "modified";

/** One module version's verification. */
export interface VerifyRecord {
  /** Module path. */
  path: string;
  /** Module version. */
  version: string;
  /** The outcome. */
  status: VerifyStatus;
  /** One message per problem, such as `example.com/m@v1.0.0: dir has been modified (…)`. */
  problems: string[];
}

/** One module version to verify; plain data, so it can be posted to a worker. */
export interface VerifyJob {
  /** GOMODCACHE. */
  root: string;
  /** The module version and its go.sum hashes. */
  sums: ModuleSums;
}

/**
 * Verifies one module version, the way `go mod verify` does and then some: with nothing
 * downloaded it is `absent`; otherwise `.ziphash` must exist and equal the h1 of the `.zip`
 * (if present) and of the extracted tree (if complete), and must be one of go.sum's hashes;
 * a cached `.mod` must match go.sum's `/go.mod` hash. An unexpected error (an unreadable
 * file) is reported as a problem, never thrown. File access is synchronous: run it in a
 * worker, or between yields.
 *
 * @example
 * ```ts
 * import { parseGoSum } from "../project/gosum.ts";
 * const goSum = parseGoSum(Deno.readTextFileSync("go.sum"), "go.sum");
 * const root = "/home/me/go/pkg/mod";
 * const record = verifyModule({ root, sums: goSum.modules.get("example.com/m@v1.0.0")! });
 * ```
 */
export function verifyModule(job: VerifyJob): VerifyRecord {
  try {
    return check(job);
  } catch (e) {
    const { path, version } = job.sums;
    return {
      path,
      version,
      status: "modified",
      problems: [ModuleError.of(path, version, e).message],
    };
  }
}

function check(job: VerifyJob): VerifyRecord {
  const { path, version, zipHashes, goModHashes } = job.sums;
  const id = `${path}@${version}`;
  const p = modulePaths(job.root, path, version);
  const problems: string[] = [];
  const mod = attempt(() => Deno.readFileSync(p.base + ".mod"));
  if (mod !== undefined && goModHashes.length > 0) {
    const h = hashGoMod(mod);
    if (!goModHashes.includes(h)) {
      problems.push(
        `${id}: go.mod does not match go.sum (${p.base}.mod has ${h}, ` +
          `go.sum has ${goModHashes.join(" or ")})`,
      );
    }
  }
  const zip = p.base + ".zip";
  const zipExists = attempt(() => Deno.statSync(zip)) !== undefined;
  const dirComplete = attempt(() => Deno.statSync(p.dir).isDirectory) === true &&
    attempt(() => Deno.statSync(p.base + ".partial")) === undefined &&
    attempt(() => Deno.statSync(p.base + ".ziphash")) !== undefined;
  let ziphash: string | Error;
  try {
    ziphash = Deno.readTextFileSync(p.base + ".ziphash").trim();
  } catch (e) {
    ziphash = e as Error;
  }
  const record = (absent: boolean): VerifyRecord => ({
    path,
    version,
    status: problems.length > 0 ? "modified" : absent ? "absent" : "ok",
    problems,
  });
  if (ziphash instanceof Error) {
    if (!zipExists && !dirComplete) return record(zipHashes.length > 0 || mod === undefined);
    problems.push(`${id}: missing ziphash: ${ziphash.message}`);
    return record(false);
  }
  try {
    if (zipExists && hashZipFile(zip) !== ziphash) {
      problems.push(`${id}: zip has been modified (${zip})`);
    }
    if (dirComplete && hashDir(p.dir, id) !== ziphash) {
      problems.push(`${id}: dir has been modified (${p.dir})`);
    }
  } catch (e) {
    problems.push(`${id}: ${(e as Error).message}`);
    return record(false);
  }
  if (zipHashes.length > 0 && !zipHashes.includes(ziphash)) {
    problems.push(
      `${id}: ziphash does not match go.sum (${p.base}.ziphash has ${ziphash}, ` +
        `go.sum has ${zipHashes.join(" or ")})`,
    );
  }
  return record(false);
}

/** The value of `f`, or undefined if it throws (a file that is missing or unreadable). */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
