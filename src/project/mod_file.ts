/**
 * The lexical rules go's modfile parser applies to go.mod and go.work files: `//` comments,
 * quoted (`"…"`) and raw (`` `…` ``) strings, and directives either on one line
 * (`require a v1`) or in a block (`require (`, one entry a line, `)`).
 *
 * @module
 */

/** One directive entry: its verb, its arguments (strings unquoted) and its 1-based line. */
export interface Directive {
  /** `module`, `go`, `require`, `replace`, `use`, … */
  verb: string;
  /** The arguments after the verb; a block's entries each repeat the block's verb. */
  args: string[];
  /** The line the entry is on. */
  line: number;
}

/** A go.mod or go.work file go itself would refuse to read. */
export class ModFileError extends Error {
  override name = "ModFileError";
}

/**
 * Splits go.mod or go.work text into directive entries.
 *
 * @throws {ModFileError} naming `fileName` and the line, for an unterminated or invalid string.
 * @example
 * ```ts
 * import { parseDirectives } from "./mod_file.ts";
 * parseDirectives("require (\n\ta v1.0.0 // indirect\n)\n", "go.mod");
 * // [{ verb: "require", args: ["a", "v1.0.0"], line: 2 }]
 * ```
 */
export function parseDirectives(text: string, fileName: string): Directive[] {
  const directives: Directive[] = [];
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
      if (args.length > 0) directives.push({ verb: block, args, line });
      if (close >= 0) block = undefined;
      continue;
    }
    if (tokens.length > 0) directives.push({ verb: tokens[0], args: tokens.slice(1), line });
  }
  return directives;
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
    } else if (c === '"' || c === "`") {
      const end = closingQuote(line, i);
      if (end < 0) throw new ModFileError(`${where}: unexpected newline in string`);
      const token = line.slice(i, end + 1);
      tokens.push(c === "`" ? token.slice(1, -1) : unquote(token, where));
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
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (line[i] === quote) return i;
    if (line[i] === "\\" && quote === '"') i++;
  }
  return -1;
}

function unquote(token: string, where: string): string {
  try {
    return JSON.parse(token);
  } catch {
    throw new ModFileError(`${where}: invalid quoted string ${token}`);
  }
}
