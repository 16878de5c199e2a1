/**
 * `deno task compile [TARGET...]`: builds self-contained goprefetch binaries into `dist/`,
 * for Linux and macOS on x86_64 and aarch64 by default, with `deno compile`. Every Web
 * Worker script that `src/` starts is included, and the binaries get the permissions
 * goprefetch needs and no others.
 *
 * `deno compile` needs Deno's runtime (`denort`) for each target, which it downloads from
 * Deno's site, or takes from `DENORT_BIN`. Where it can have neither, this script fails with
 * one line that says so.
 *
 * @module
 */
import { join, posix, relative } from "node:path";

/** The targets built when none is named. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

/** What goprefetch needs (see README, "Permissions"); compiled in, so the binary asks for nothing. */
export const PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

const ROOT = join(import.meta.dirname!, "..");

/**
 * The scripts that `src/` starts as Web Workers (`new Worker(new URL("./x.ts", ...))`, or
 * `"../folder/x.ts"`), relative to the root.
 */
export function workerScripts(): string[] {
  const found = new Set<string>();
  for (const entry of Deno.readDirSync(join(ROOT, "src"))) {
    if (!entry.isDirectory) continue;
    for (const file of Deno.readDirSync(join(ROOT, "src", entry.name))) {
      if (!file.isFile || !file.name.endsWith(".ts")) continue;
      const text = Deno.readTextFileSync(join(ROOT, "src", entry.name, file.name));
      for (const m of text.matchAll(/new Worker\(\s*new URL\(\s*"(\.\.?\/[^"]+)"/g)) {
        found.add(posix.join("src", entry.name, m[1]));
      }
    }
  }
  return [...found].sort();
}

/** The `deno compile` arguments that build `target` into `dist/`. */
export function compileArgs(target: string): string[] {
  return [
    "compile",
    "--quiet",
    "--no-config",
    ...PERMISSIONS,
    ...workerScripts().flatMap((w) => ["--include", w]),
    "--target",
    target,
    "--output",
    join("dist", `goprefetch-${target}`),
    "cli.ts",
  ];
}

/** Builds each target in turn; stops at the first failure with one line. Returns the exit code. */
async function compileAll(targets: string[]): Promise<number> {
  for (const target of targets) {
    if (!TARGETS.includes(target)) {
      console.error(`compile: unknown target "${target}"; the targets are ${TARGETS.join(", ")}`);
      return 2;
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target),
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      console.error(failureLine(target, new TextDecoder().decode(out.stderr)));
      removeIfEmpty(join(ROOT, "dist"));
      return 1;
    }
    const output = join(ROOT, "dist", `goprefetch-${target}`);
    console.log(`compile: ${relative(Deno.cwd(), output)}`);
  }
  return 0;
}

/** Removes the directory `deno compile` made for its output, if it is still empty. */
function removeIfEmpty(dir: string): void {
  try {
    Deno.removeSync(dir);
  } catch {
    // Not empty, or not there: leave it.
  }
}

/** One line for a failed `deno compile`: why the runtime could not be had, or Deno's own error. */
function failureLine(target: string, stderr: string): string {
  const lines = stderr.split("Stack backtrace:")[0].split("\n").map((l) => l.trim());
  const causes = lines.map((l) => l.match(/^\d+: (.*)$/)?.[1]).filter((c) => c !== undefined);
  const error = lines.find((l) => l.startsWith("error: "))?.slice(7) ?? "";
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin) {
    return `compile: deno compile cannot use DENORT_BIN=${denortBin} for ${target} ` +
      `(${
        causes.at(-1) ?? error
      }); it must be the denort of Deno ${Deno.version.deno} for ${target}.`;
  }
  const url = stderr.match(/https:\/\/\S*denort\S*?\.zip/)?.[0];
  if (url || /base binary/i.test(stderr)) {
    const cause = (causes[1] ?? causes[0] ?? error)
      .replace(/^error sending request for url \(\S+\): /, "");
    return `compile: cannot get Deno's runtime (denort) for ${target}` +
      `${url ? ` from ${url}` : ""} (${cause}). Build where that site is reachable (the release ` +
      `workflow does), or set DENORT_BIN to a denort binary for ${target} and build that target alone.`;
  }
  return `compile: deno compile failed for ${target}: ${error}` +
    (causes.length > 0 ? ` (${causes.at(-1)})` : "");
}

if (import.meta.main) {
  Deno.exit(await compileAll(Deno.args.length > 0 ? Deno.args : [...TARGETS]));
}
