/**
 * Parsing go.sum and go.work.sum files into the module versions they name.
 *
 * @module
 */
import { EMPTY_GO_MOD_HASH } from "./dirhash.ts";

/** One module version named by go.sum, with the hashes recorded for it. */
export interface ModuleSums {
  /** Module path, unescaped. */
  path: string;
  /** Module version, unescaped. */
  version: string;
  /** h1 hashes of the module zip (`path version h1:...` lines); empty when only go.mod is needed. */
  zipHashes: string[];
  /** h1 hashes of the module's go.mod (`path version/go.mod h1:...` lines). */
  goModHashes: string[];
}

/** What a go.sum file says: the module versions in first-seen order, and warnings. */
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
 * Parses go.sum text the way go's `readGoSum` does: three fields a line, blank lines
 * skipped, hashes other than `h1:` warned about and ignored, the empty-go.mod hash dropped.
 * Several files can be merged by passing the same `into` value.
 *
 * @example
 * ```ts
 * import { parseGoSum } from "./gosum.ts";
 * const sum = parseGoSum("example.com/m v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n", "go.sum");
 * ```
 */
export function parseGoSum(text: string, fileName: string, into?: GoSum): GoSum {
  const sum: GoSum = into ?? { modules: new Map(), warnings: [] };
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
    const isGoMod = rawVersion.endsWith("/go.mod");
    const version = isGoMod ? rawVersion.slice(0, -"/go.mod".length) : rawVersion;
    if (isGoMod && hash === EMPTY_GO_MOD_HASH) continue;
    if (!hash.startsWith("h1:")) {
      sum.warnings.push(
        `${fileName}:${i + 1}: unknown hash algorithm for ${path}@${version}, line ignored`,
      );
      continue;
    }
    const key = `${path}@${version}`;
    let entry = sum.modules.get(key);
    if (!entry) {
      entry = { path, version, zipHashes: [], goModHashes: [] };
      sum.modules.set(key, entry);
    }
    const hashes = isGoMod ? entry.goModHashes : entry.zipHashes;
    if (!hashes.includes(hash)) hashes.push(hash);
  }
  return sum;
}
