/**
 * The correctness gate: after a contender fills a cache, the go command must accept it with the
 * network off. A project that builds on its own is built (`go build ./...`) and its modules
 * verified (`go mod verify`). A project that cannot be loaded as its module zip has it
 * (kubernetes replaces its staging modules with directories the zip leaves out) is stood in for
 * by its go.mod less those replacements: every module it requires must have its tree in the
 * cache, and `go mod download` and `go mod verify` must pass with `GOPROXY=off`.
 *
 * @module
 */
import { join } from "node:path";
import { goEscape, type Mirror } from "./mirror.ts";

/** The gate's verdict on one cache. */
export interface GateResult {
  /** Whether the go command accepted the cache. */
  ok: boolean;
  /** What was checked, or why it failed. */
  detail: string;
}

/** A go.mod reduced to what the module proxy can serve, and the modules it requires. */
export interface GateModule {
  /** The go.mod text. */
  goMod: string;
  /** `path@version` of every requirement left. */
  requires: string[];
}

/** Drops from go.mod text the `replace` lines whose target is a directory, and their `require`s. */
export function withoutLocalReplaces(goMod: string): GateModule {
  let block = "";
  const lines = goMod.split("\n").map((line) => {
    const t = line.replace(/\/\/.*$/, "").trim();
    const open = t.match(/^(\w+)\s*\($/);
    if (open || t === ")") {
      block = open ? open[1] : "";
      return { line, verb: "", fields: [] as string[] };
    }
    const fields = t.split(/\s+/).filter((f) => f !== "");
    return block
      ? { line, verb: block, fields }
      : { line, verb: fields[0], fields: fields.slice(1) };
  });
  const local = new Set(
    lines.filter((l) => l.verb === "replace" && /^(\.\.?\/|\/)/.test(l.fields.at(-1) ?? ""))
      .map((l) => l.fields[0]),
  );
  const kept = lines.filter((l) =>
    !(["replace", "require"].includes(l.verb) && local.has(l.fields[0]))
  );
  return {
    goMod: kept.map((l) => l.line).join("\n"),
    requires: kept.filter((l) => l.verb === "require").map((l) => `${l.fields[0]}@${l.fields[1]}`),
  };
}

/**
 * Writes the stand-in module for `mirror`'s project into `dir`: its go.mod less local
 * replacements, and the benchmark's go.sum. Returns the modules it requires.
 */
export async function writeGateModule(mirror: Mirror, dir: string): Promise<string[]> {
  const gate = withoutLocalReplaces(await Deno.readTextFile(join(mirror.projectDir, "go.mod")));
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "go.mod"), gate.goMod);
  await Deno.copyFile(mirror.sumFile, join(dir, "go.sum"));
  return gate.requires;
}

/**
 * Checks that the go command accepts `modCache` for `mirror`'s project with no network.
 *
 * @example
 * ```ts
 * import { checkCache } from "./gate.ts";
 * import { ensureMirror, SETS } from "./mirror.ts";
 * const mirror = await ensureMirror(SETS[1], console.error);
 * console.log(await checkCache(mirror, "/tmp/modcache", "/tmp/gate"));
 * ```
 */
export async function checkCache(
  mirror: Mirror,
  modCache: string,
  scratch: string,
): Promise<GateResult> {
  const env = {
    GOMODCACHE: modCache,
    GOPROXY: "off",
    GOFLAGS: "-mod=mod",
    GOSUMDB: "off",
    GOTOOLCHAIN: "local",
    GOWORK: "off",
    GOENV: "off",
  };
  if (mirror.buildsAlone) {
    const build = await go(["build", "-trimpath", "./..."], mirror.projectDir, env);
    if (!build.ok) return build;
    const verify = await go(["mod", "verify"], mirror.projectDir, env);
    return verify.ok ? { ok: true, detail: "go build ./... and go mod verify" } : verify;
  }
  const requires = await writeGateModule(mirror, scratch);
  const missing = await missingTrees(requires, modCache);
  if (missing.length > 0) {
    return { ok: false, detail: `${missing.length} module trees missing, e.g. ${missing[0]}` };
  }
  const download = await go(["mod", "download"], scratch, env);
  if (!download.ok) return download;
  const verify = await go(["mod", "verify"], scratch, env);
  return verify.ok ? { ok: true, detail: "trees present, go mod download, go mod verify" } : verify;
}

/** The modules (`path@version`) whose extracted tree is not in `modCache`. */
async function missingTrees(modules: string[], modCache: string): Promise<string[]> {
  const missing: string[] = [];
  for (const m of modules) {
    const at = m.lastIndexOf("@");
    const dir = join(modCache, `${goEscape(m.slice(0, at))}@${goEscape(m.slice(at + 1))}`);
    const st = await Deno.stat(dir).catch(() => null);
    if (!st?.isDirectory) missing.push(m);
  }
  return missing;
}

async function go(args: string[], cwd: string, env: Record<string, string>): Promise<GateResult> {
  const out = await new Deno.Command("go", { args, cwd, env, stdout: "piped", stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" | ");
  return {
    ok: out.success,
    detail: out.success ? `go ${args.join(" ")}` : `go ${args[0]}: ${err}`,
  };
}
