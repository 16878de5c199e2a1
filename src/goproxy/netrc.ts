/**
 * Credentials for private https proxies from a `.netrc` file, found, parsed and matched as
 * the go command (1.24 and later, `GOAUTH=netrc`) does.
 *
 * @module
 */
import { posix, win32 } from "node:path";

/** One complete `machine`/`login`/`password` triple of a netrc file. */
export interface NetrcEntry {
  /** The `machine` string: a host, `host:port`, or a `host/path` prefix. */
  machine: string;
  /** The `login` value. */
  login: string;
  /** The `password` value. */
  password: string;
}

/**
 * Parses netrc text exactly as the go command's `parseNetrc` does: tokens are read in pairs
 * per line, an entry is complete once it has a machine, a login and a password, a `macdef`
 * skips lines up to the next empty one, and a line ending in `default` ends the file.
 *
 * @example
 * ```ts
 * parseNetrc("machine proxy.example.com login ci password s3cret\n");
 * // [{ machine: "proxy.example.com", login: "ci", password: "s3cret" }]
 * ```
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  let current = { machine: "", login: "", password: "" };
  let inMacro = false;
  for (const line of text.split("\n")) {
    if (inMacro) {
      if (line === "") inMacro = false;
      continue;
    }
    const fields = line.split(/\s+/).filter((f) => f !== "");
    let i = 0;
    for (; i < fields.length - 1; i += 2) {
      const [key, value] = [fields[i], fields[i + 1]];
      if (key === "machine") current = { machine: value, login: "", password: "" };
      else if (key === "login") current.login = value;
      else if (key === "password") current.password = value;
      else if (key === "macdef") inMacro = true;
      if (current.machine !== "" && current.login !== "" && current.password !== "") {
        entries.push(current);
        current = { machine: "", login: "", password: "" };
      }
    }
    if (i < fields.length && fields[i] === "default") break;
  }
  return entries;
}

/**
 * The netrc file the go command reads: `$NETRC` if set, else `~/.netrc`; on Windows
 * `~/_netrc` when it exists, else `~/.netrc`. Undefined when no home directory is known.
 *
 * @example
 * ```ts
 * netrcPath({ HOME: "/home/ci" }, "linux", () => false); // "/home/ci/.netrc"
 * ```
 */
export function netrcPath(
  env: Record<string, string | undefined>,
  os: string,
  exists: (path: string) => boolean,
): string | undefined {
  const getenv = (key: string): string =>
    os === "windows"
      ? Object.entries(env).find(([k, v]) => k.toUpperCase() === key && v)?.[1] ?? ""
      : env[key] ?? "";
  if (getenv("NETRC") !== "") return getenv("NETRC");
  const home = getenv(os === "windows" ? "USERPROFILE" : "HOME");
  if (home === "") return undefined;
  if (os === "windows") {
    const legacy = win32.join(home, "_netrc");
    return exists(legacy) ? legacy : win32.join(home, ".netrc");
  }
  return posix.join(home, ".netrc");
}

/** A GOAUTH value the go command itself would reject. */
export class GoAuthError extends Error {
  override name = "GoAuthError";
}

/** What {@link proxyAuthorization} reads instead of the real process state. */
export interface AuthInputs {
  /** The GOAUTH setting of the go environment (default `netrc`). */
  goauth: string;
  /** The process environment, for NETRC and the home directory. */
  env: Record<string, string | undefined>;
  /** The operating system, as in `Deno.build.os`. */
  os: string;
  /** Reads a text file; undefined when it is missing or unreadable. */
  readTextFile: (path: string) => string | undefined;
}

/**
 * Interprets GOAUTH for proxy requests: `off` gives no credentials, `netrc` reads the netrc
 * file; any other method (`git DIR`, a command) is not run, with a warning naming only its
 * first word, since the rest may hold a secret.
 *
 * @throws {GoAuthError} for an empty method or `off` combined with others, as go does.
 * @example
 * ```ts
 * const { authorization, warnings } = proxyAuthorization({
 *   goauth: "netrc",
 *   env: Deno.env.toObject(),
 *   os: Deno.build.os,
 *   readTextFile: (p) => Deno.readTextFileSync(p),
 * });
 * ```
 */
export function proxyAuthorization(
  inputs: AuthInputs,
): { authorization?: (url: string) => string | undefined; warnings: string[] } {
  const methods = inputs.goauth.split(";").map((m) => m.trim().split(/\s+/)[0]);
  if (methods.includes("")) throw new GoAuthError("GOAUTH encountered an empty command");
  if (methods.includes("off")) {
    if (methods.length > 1) {
      throw new GoAuthError("GOAUTH=off cannot be combined with other authentication commands");
    }
    return { warnings: [] };
  }
  const warnings = methods.filter((m) => m !== "netrc").map((m) =>
    `GOAUTH method "${m}" is not supported: goprefetch reads only netrc (or GOAUTH=off), ` +
    "so proxy requests get no credentials from it"
  );
  if (!methods.includes("netrc")) return { warnings };
  const path = netrcPath(inputs.env, inputs.os, (p) => inputs.readTextFile(p) !== undefined);
  const text = path === undefined ? undefined : inputs.readTextFile(path);
  if (text === undefined) return { warnings };
  return { authorization: netrcAuthorization(parseNetrc(text)), warnings };
}

/**
 * Returns the `Authorization` header go 1.24+ sends with a request for `url`: only for https
 * URLs; the key is the URL without `https://`, matched against the `machine` strings
 * (themselves stripped of `https://` and one trailing `/`) and then against each shorter
 * prefix ending before a `/`. So `machine host` matches `https://host/...` but not
 * `https://host:8443/...`, which needs `machine host:8443`; the first entry for a machine
 * wins. A URL with `user:password@` matches no machine: its own credentials apply.
 *
 * @example
 * ```ts
 * const auth = netrcAuthorization(parseNetrc("machine proxy.example.com login u password p"));
 * auth("https://proxy.example.com/go/example.com/m/@v/v1.0.0.zip"); // "Basic dTpw"
 * ```
 */
export function netrcAuthorization(entries: NetrcEntry[]): (url: string) => string | undefined {
  const byPrefix = new Map<string, string>();
  for (const e of entries) {
    const prefix = e.machine.replace(/^https:\/\//, "").replace(/\/$/, "");
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, basicAuthorization(e.login, e.password));
  }
  return (url) => {
    if (!/^https:\/\//i.test(url)) return undefined;
    let prefix = url.slice("https://".length).replace(/\/$/, "");
    for (;;) {
      const found = byPrefix.get(prefix);
      if (found !== undefined) return found;
      const slash = prefix.lastIndexOf("/");
      if (slash < 0) return undefined;
      prefix = prefix.slice(0, slash);
    }
  };
}

/** A Basic `Authorization` value, the user and password encoded as UTF-8. */
function basicAuthorization(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

/**
 * The Basic `Authorization` value of the user information in `url` (`https://u:p@host/`), as
 * go's web client sends it instead of any netrc entry; undefined when it has none.
 */
export function userinfoAuthorization(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  return basicAuthorization(decodeURIComponent(url.username), decodeURIComponent(url.password));
}
