/**
 * The facts goprefetch reads from a go.work file: its `go` version and its `use` directories.
 *
 * @module
 */

/** A go.work file, as far as goprefetch needs it. */
export interface GoWork {
  /** The version on the `go` line, or `""`. */
  go: string;
  /** The `use` directories as written (relative to the go.work directory unless absolute). */
  use: { dir: string; line: number }[];
}

/** A go.work file go itself would refuse to parse. */
export class GoWorkError extends Error {
  override name = "GoWorkError";
}

/**
 * Parses go.work text with the lexical rules of go's modfile parser: `//` comments, quoted
 * (`"…"`) paths, and directives either on one line (`use ./a`) or in a block (`use (`, one
 * path a line, `)`). Directives other than `go` and `use` are skipped.
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
  const work: GoWork = { go: "", use: [] };
  let block: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let tokens = tokenize(lines[i], `${fileName}:${line}`);
    if (block === undefined && tokens.length >= 2 && tokens[1] === "(") {
      block = tokens[0];
      tokens = tokens.slice(2);
    }
    if (block !== undefined) {
      const close = tokens.indexOf(")");
      const args = close < 0 ? tokens : tokens.slice(0, close);
      if (args.length > 0) directive(work, block, args, line);
      if (close >= 0) block = undefined;
      continue;
    }
    if (tokens.length > 0) directive(work, tokens[0], tokens.slice(1), line);
  }
  return work;
}

function directive(work: GoWork, verb: string, args: string[], line: number): void {
  if (verb === "use" && args.length > 0) work.use.push({ dir: args[0], line });
  else if (verb === "go" && args.length > 0) work.go = args[0];
}

/** Splits one line into tokens: `(` and `)` alone, strings unquoted, comments dropped. */
function tokenize(line: string, where: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (line.startsWith("//", i)) {
      break;
    } else if (c === "(" || c === ")") {
      tokens.push(c);
      i++;
    } else if (c === '"') {
      const end = closingQuote(line, i);
      if (end < 0) throw new GoWorkError(`${where}: unexpected newline in string`);
      tokens.push(unquote(line.slice(i, end + 1), where));
      i = end + 1;
    } else {
      const start = i;
      while (i < line.length && !/[\s()[\]{},]/.test(line[i]) && !line.startsWith("//", i)) i++;
      tokens.push(line.slice(start, Math.max(i, start + 1)));
      i = Math.max(i, start + 1);
    }
  }
  return tokens;
}

function closingQuote(line: string, start: number): number {
  for (let i = start + 1; i < line.length; i++) {
    if (line[i] === '"') return i;
    if (line[i] === "\\") i++;
  }
  return -1;
}

function unquote(token: string, where: string): string {
  try {
    return JSON.parse(token);
  } catch {
    throw new GoWorkError(`${where}: invalid quoted string ${token}`);
  }
}
