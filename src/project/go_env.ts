import { posix, win32 } from "node:path";

/** Everything goprefetch needs from the go environment, resolved as the go command does. */
export interface GoEnv {
  GOPROXY: string;
  GONOPROXY: string;
  GOPRIVATE: string;
  GONOSUMDB: string;
  GOSUMDB: string;
  GOFLAGS: string;
  GOMODCACHE: string;
  GOPATH: string;
  GOROOT: string;
  GOWORK: string;
  GOTOOLCHAIN: string;
  GOAUTH: string;
  /** The user env file in use, or "" when GOENV=off or no config directory is known. */
  GOENV: string;
  GOINSECURE: string;
  /** Whether GOFLAGS sets the boolean flag -modcacherw. */
  modcacherw: boolean;
  /** The value of -mod=... in GOFLAGS, or "" if unset. */
  mod: string;
  /** Go's `cfg.SumdbDir`: `pkg/sumdb` in the first GOPATH entry, or "" when there is none. */
  sumdbDir: string;
}

/** A go environment setting that the go command itself would reject. */
export class GoEnvError extends Error {
  override name = "GoEnvError";
}

/** The inputs `resolveGoEnv` reads instead of the real process state. */
export interface GoEnvInputs {
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** The operating system, as in `Deno.build.os`. */
  os: "linux" | "darwin" | "windows" | string;
  /** Reads a text file; returns undefined if it is missing or unreadable. */
  readTextFile: (path: string) => string | undefined;
  /** Real path of the `go` executable found on PATH; used only to find GOROOT when it is not set. */
  goBinary?: string;
}

/**
 * Resolves the go environment with the go command's precedence: a non-empty process variable,
 * then the user env file, then `$GOROOT/go.env`, then the built-in default.
 *
 * @example
 * ```ts
 * const env = resolveGoEnv({
 *   env: Deno.env.toObject(),
 *   os: Deno.build.os,
 *   readTextFile: (p) => { try { return Deno.readTextFileSync(p); } catch { return undefined; } },
 * });
 * console.log(env.GOMODCACHE, env.GOPROXY);
 * ```
 */
export function resolveGoEnv(inputs: GoEnvInputs): GoEnv {
  const { os, readTextFile } = inputs;
  const path = pathFor(os);
  const getenv = (key: string): string => lookupEnv(inputs.env, os, key);

  const userFile = userEnvFilePath(inputs.env, os);
  const files = userFile === undefined
    ? new Map<string, string>()
    : parseEnvFile(readTextFile(userFile) ?? "");
  // Like the go command, go.env is located with the user file's GOROOT before the process one.
  const root = findGoroot(files.get("GOROOT") || getenv("GOROOT"), inputs.goBinary, os);
  const goEnvText = root === "" ? undefined : readTextFile(path.join(root, "go.env"));
  for (const [key, value] of envFileEntries(goEnvText ?? "")) {
    if (!files.has(key)) files.set(key, value);
  }
  files.set("GOROOT", root);
  const get = (key: string, fallback = ""): string => getenv(key) || files.get(key) || fallback;

  const GOROOT = get("GOROOT");
  const GOPATH = get("GOPATH", defaultGopath(getenv, os, GOROOT));
  if (get("GOPATH") !== "") checkGopath(GOPATH, GOROOT, os);
  const firstGopath = splitList(GOPATH, os)[0] ?? "";
  const GOMODCACHE = get("GOMODCACHE", firstGopath === "" ? "" : path.join(firstGopath, "pkg/mod"));
  if (GOMODCACHE === "") {
    throw new GoEnvError("module cache not found: neither GOMODCACHE nor GOPATH is set");
  }
  if (!isAbs(GOMODCACHE, os)) {
    throw new GoEnvError(
      `GOMODCACHE entry is relative; must be absolute path: ${JSON.stringify(GOMODCACHE)}`,
    );
  }
  const GOPRIVATE = get("GOPRIVATE");
  const GOFLAGS = get("GOFLAGS");
  return {
    GOPROXY: get("GOPROXY"),
    GONOPROXY: get("GONOPROXY", GOPRIVATE),
    GOPRIVATE,
    GONOSUMDB: get("GONOSUMDB", GOPRIVATE),
    GOSUMDB: get("GOSUMDB"),
    GOFLAGS,
    GOMODCACHE,
    GOPATH,
    GOROOT,
    GOWORK: get("GOWORK"),
    GOTOOLCHAIN: get("GOTOOLCHAIN"),
    GOAUTH: get("GOAUTH", "netrc"),
    GOENV: userFile ?? "",
    GOINSECURE: get("GOINSECURE"),
    ...goFlagSettings(parseGoFlags(GOFLAGS)),
    sumdbDir: firstGopath === "" ? "" : path.join(firstGopath, "pkg/sumdb"),
  };
}

/**
 * Parses a go env file: `KEY=VALUE` lines split at the first `=`; lines without `=` or whose
 * first character is not `A`–`Z` are ignored; nothing is trimmed (a CRLF file keeps its CR).
 *
 * @example
 * ```ts
 * parseEnvFile("# comment\nGOPROXY=https://proxy.example\n").get("GOPROXY"); // "https://proxy.example"
 * ```
 */
export function parseEnvFile(text: string): Map<string, string> {
  return new Map(envFileEntries(text));
}

/**
 * Splits GOFLAGS as the go command does (`quoted.Split`: fields separated by space, tab, CR or LF,
 * optionally wrapped whole in '…' or "…") and checks that every field looks like a flag.
 *
 * @example
 * ```ts
 * parseGoFlags("'-ldflags=-s -w' -modcacherw"); // ["-ldflags=-s -w", "-modcacherw"]
 * ```
 */
export function parseGoFlags(goflags: string): string[] {
  const fields: string[] = [];
  let rest = goflags;
  while (rest !== "") {
    rest = rest.replace(/^[ \t\r\n]+/, "");
    if (rest === "") break;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      const end = rest.indexOf(quote, 1);
      if (end < 0) throw new GoEnvError(`parsing $GOFLAGS: unterminated ${quote} string`);
      fields.push(rest.slice(1, end));
      rest = rest.slice(end + 1);
    } else {
      const end = rest.search(/[ \t\r\n]/);
      fields.push(end < 0 ? rest : rest.slice(0, end));
      rest = end < 0 ? "" : rest.slice(end);
    }
  }
  for (const field of fields) {
    const malformed = field === "-" || field === "--" ||
      ["---", "-=", "--="].some((prefix) => field.startsWith(prefix));
    if (!field.startsWith("-") || malformed) {
      throw new GoEnvError(`parsing $GOFLAGS: non-flag ${JSON.stringify(field)}`);
    }
  }
  return fields;
}

/**
 * Returns the user env file the go command reads: `$GOENV` (undefined for `off`), else
 * `<user config dir>/go/env`, or undefined when the config directory cannot be determined.
 *
 * @example
 * ```ts
 * userEnvFilePath({ HOME: "/home/u" }, "linux"); // "/home/u/.config/go/env"
 * ```
 */
export function userEnvFilePath(
  env: Record<string, string | undefined>,
  os: string,
): string | undefined {
  const goenv = lookupEnv(env, os, "GOENV");
  if (goenv !== "") return goenv === "off" ? undefined : goenv;
  const dir = userConfigDir(env, os);
  return dir === undefined ? undefined : pathFor(os).join(dir, "go", "env");
}

/**
 * Searches the absolute directories of a PATH value for `go` (`go.exe` on Windows) and returns
 * the first candidate `isFile` accepts; the caller resolves it to its real path.
 *
 * @example
 * ```ts
 * findGoBinary("/usr/bin:/usr/local/go/bin", "linux", (p) => p === "/usr/local/go/bin/go");
 * ```
 */
export function findGoBinary(
  pathEnv: string,
  os: string,
  isFile: (p: string) => boolean,
): string | undefined {
  const exe = os === "windows" ? "go.exe" : "go";
  for (const dir of splitList(pathEnv, os)) {
    if (!isAbs(dir, os)) continue;
    const candidate = pathFor(os).join(dir, exe);
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

function* envFileEntries(text: string): Generator<[string, string]> {
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0 || line[0] < "A" || line[0] > "Z") continue;
    yield [line.slice(0, eq), line.slice(eq + 1)];
  }
}

function goFlagSettings(fields: string[]): { modcacherw: boolean; mod: string } {
  let modcacherw = false;
  let mod = "";
  for (const field of fields) {
    const eq = field.indexOf("=");
    const flag = (eq < 0 ? field : field.slice(0, eq)).replace(/^--/, "-");
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (flag === "-modcacherw") {
      modcacherw = value === undefined ? true : parseBool(value, flag);
    } else if (flag === "-mod") {
      if (value === undefined) {
        throw new GoEnvError("flag needs an argument: -mod (from $GOFLAGS)");
      }
      mod = value;
    }
  }
  return { modcacherw, mod };
}

function parseBool(value: string, flag: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new GoEnvError(
    `invalid boolean value ${JSON.stringify(value)} for flag ${flag} (from $GOFLAGS)`,
  );
}

function findGoroot(explicit: string, goBinary: string | undefined, os: string): string {
  if (explicit !== "") return clean(explicit, os);
  if (goBinary === undefined) return "";
  const path = pathFor(os);
  const dir = path.dirname(goBinary);
  const base = path.basename(dir);
  return (os === "windows" ? base.toLowerCase() : base) === "bin" ? path.dirname(dir) : dir;
}

function defaultGopath(getenv: (key: string) => string, os: string, goroot: string): string {
  const home = getenv(os === "windows" ? "USERPROFILE" : "HOME");
  if (home === "") return "";
  const gopath = pathFor(os).join(home, "go");
  return clean(gopath, os) === clean(goroot, os) ? "" : gopath;
}

function userConfigDir(env: Record<string, string | undefined>, os: string): string | undefined {
  if (os === "windows") return lookupEnv(env, os, "AppData") || undefined;
  const home = lookupEnv(env, os, "HOME");
  if (os === "darwin") return home === "" ? undefined : `${home}/Library/Application Support`;
  const xdg = lookupEnv(env, os, "XDG_CONFIG_HOME");
  if (xdg !== "") return isAbs(xdg, os) ? xdg : undefined;
  return home === "" ? undefined : `${home}/.config`;
}

/** Reads a process variable; "" if unset. Windows variable names are case-insensitive. */
function lookupEnv(env: Record<string, string | undefined>, os: string, key: string): string {
  const direct = env[key];
  if (direct !== undefined || os !== "windows") return direct ?? "";
  const upper = key.toUpperCase();
  const found = Object.entries(env).find(([k, v]) => k.toUpperCase() === upper && v !== undefined);
  return found?.[1] ?? "";
}

/** Splits a PATH-style list like Go's `filepath.SplitList` (Windows: `;`, quotes removed). */
/** The go command refuses an explicitly set GOPATH with a relative or `~` entry. */
function checkGopath(gopath: string, goroot: string, os: string): void {
  if (gopath === goroot) return;
  for (const entry of splitList(gopath, os)) {
    if (entry === "") continue;
    if (entry.startsWith("~")) {
      throw new GoEnvError(
        `GOPATH entry cannot start with shell metacharacter '~': ${JSON.stringify(entry)}`,
      );
    }
    if (!isAbs(entry, os)) {
      throw new GoEnvError(
        `GOPATH entry is relative; must be absolute path: ${JSON.stringify(entry)}`,
      );
    }
  }
}

function splitList(value: string, os: string): string[] {
  if (value === "") return [];
  if (os !== "windows") return value.split(":");
  const list: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '"') quoted = !quoted;
    else if (value[i] === ";" && !quoted) {
      list.push(value.slice(start, i));
      start = i + 1;
    }
  }
  list.push(value.slice(start));
  return list.map((entry) => entry.replaceAll('"', ""));
}

function isAbs(p: string, os: string): boolean {
  return os === "windows" ? /^([A-Za-z]:[\\/]|[\\/]{2}[^\\/])/.test(p) : p.startsWith("/");
}

/** Normalizes a path like Go's `filepath.Clean`, without a trailing separator. */
function clean(p: string, os: string): string {
  const path = pathFor(os);
  const normalized = path.normalize(p);
  const root = path.parse(normalized).root;
  return normalized.length > root.length ? normalized.replace(/[\\/]+$/, "") : normalized;
}

function pathFor(os: string): typeof posix {
  return os === "windows" ? win32 : posix;
}
