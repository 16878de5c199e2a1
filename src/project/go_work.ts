/**
 * The facts goprefetch reads from a go.work file: its `go` version, its `use` directories and
 * its `replace` directives.
 *
 * @module
 */
import { type Replace, replaceDirective } from "./go_mod.ts";
import { ModFileError, parseDirectives } from "./mod_file.ts";

/** A go.work file, as far as goprefetch needs it. */
export interface GoWork {
  /** The version on the `go` line, or `""`. */
  go: string;
  /** The `use` directories as written (relative to the go.work directory unless absolute). */
  use: { dir: string; line: number }[];
  /** The `replace` directives, which override those of the workspace's go.mod files. */
  replace: Replace[];
}

/** A go.work file go itself would refuse to parse. */
export class GoWorkError extends Error {
  override name = "GoWorkError";
}

/**
 * Parses go.work text with the lexical rules of go's modfile parser (see `mod_file.ts`).
 * Directives other than `go`, `use` and `replace` are skipped.
 *
 * @throws {GoWorkError} naming `fileName` and the line, for an unterminated string.
 * @example
 * ```ts
 * import { parseGoWork } from "./go_work.ts";
 * parseGoWork("go 1.22\n\nuse (\n\t./api\n\t./cli\n)\n", "go.work").use.map((u) => u.dir);
 * // ["./api", "./cli"]
 * ```
 */
export function parseGoWork(text: string, fileName: string): GoWork {
  const work: GoWork = { go: "", use: [], replace: [] };
  let directives;
  try {
    directives = parseDirectives(text, fileName);
  } catch (e) {
    if (e instanceof ModFileError) throw new GoWorkError(e.message);
    throw e;
  }
  for (const { verb, args, line } of directives) {
    if (verb === "use" && args.length > 0) work.use.push({ dir: args[0], line });
    else if (verb === "go" && args.length > 0) work.go = args[0];
    else if (verb === "replace") {
      const replace = replaceDirective(args);
      if (replace) work.replace.push(replace);
    }
  }
  return work;
}
