/** One entry of the parsed GOPROXY list, in the order the go command tries them. */
export type ProxyEntry =
  | {
    kind: "url";
    /** An http, https or file URL as given, without one trailing slash. */
    url: string;
    /** True if the entry was followed by `|`: fall through on any error, not only not-found. */
    fallBackOnError: boolean;
    /** The `Authorization` header for a request URL (from netrc), if any. Never logged. */
    authorization?: (url: string) => string | undefined;
  }
  | { kind: "direct" | "off" | "noproxy"; fallBackOnError: boolean };

/** A GOPROXY value that the go command would reject. */
export class ProxyListError extends Error {
  override name = "ProxyListError";
}

const HINT = 'set GOPROXY (for example with "go env -w GOPROXY=...") or pass --proxy URL';

/** scheme://[userinfo@]host[:port][/path], with no backslash, query or fragment. */
const HTTP_URL =
  /^https?:\/\/(?:[^/?#]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d*)?(?:\/[^?#\\]*)?$/i;

/**
 * Parses GOPROXY as the go command does: entries separated by `,` (fall through on not-found)
 * or `|` (fall through on any error), `off` and `direct` ending the list, bare hosts getting
 * `https://`, and a leading `noproxy` entry when GONOPROXY is set and GOPROXY is not `direct`.
 *
 * @example
 * ```ts
 * parseProxyList("https://proxy.example|direct", "");
 * // [{ kind: "url", url: "https://proxy.example", fallBackOnError: true },
 * //  { kind: "direct", fallBackOnError: false }]
 * ```
 */
export function parseProxyList(goproxy: string, gonoproxy: string): ProxyEntry[] {
  if (goproxy === "") {
    throw new ProxyListError(`GOPROXY is empty (is $GOROOT/go.env missing?); ${HINT}`);
  }
  const list: ProxyEntry[] = [];
  if (gonoproxy !== "" && goproxy !== "direct") {
    list.push({ kind: "noproxy", fallBackOnError: false });
  }
  let rest = goproxy;
  while (rest !== "") {
    const sep = rest.search(/[,|]/);
    const entry = (sep < 0 ? rest : rest.slice(0, sep)).trim();
    const fallBackOnError = sep >= 0 && rest[sep] === "|";
    rest = sep < 0 ? "" : rest.slice(sep + 1);
    if (entry === "") continue;
    if (entry === "off" || entry === "direct") {
      list.push({ kind: entry, fallBackOnError: false });
      break;
    }
    list.push({ kind: "url", url: checkProxyUrl(withImplicitScheme(entry)), fallBackOnError });
  }
  if (list.length === 0 || (list.length === 1 && list[0].kind === "noproxy")) {
    throw new ProxyListError(
      `GOPROXY list is not the empty string, but contains no entries; ${HINT}`,
    );
  }
  return list;
}

/**
 * What the go command tries first for a module that GONOPROXY leaves to the list: a proxy
 * (`url`), the module's own origin (`direct`), or nothing (`off`).
 *
 * @example
 * ```ts
 * firstKind(parseProxyList("direct", "")); // "direct"
 * ```
 */
export function firstKind(entries: ProxyEntry[]): "url" | "direct" | "off" {
  const kind = entries.find((e) => e.kind !== "noproxy")?.kind;
  return kind === "direct" || kind === "off" ? kind : "url";
}

/**
 * Removes the `user:password@` part of a URL, for logs and error messages.
 *
 * @example
 * ```ts
 * redactUrl("https://user:secret@proxy.example/go"); // "https://proxy.example/go"
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1");
}

/** Single words are keywords; anything else that is not a URL or an absolute path is a host. */
function withImplicitScheme(entry: string): string {
  const isHost = /[.:/]/.test(entry) && !entry.includes(":/") && !entry.startsWith("/");
  return isHost ? `https://${entry}` : entry;
}

function checkProxyUrl(url: string): string {
  const shown = JSON.stringify(redactUrl(url));
  if ([...url].some((c) => c < " " || c === "\x7f")) {
    throw new ProxyListError(`invalid proxy URL ${shown}: contains a control character`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1].toLowerCase() ?? "";
  if (scheme === "") {
    throw new ProxyListError(`invalid proxy URL missing scheme: ${shown}`);
  }
  if (scheme === "file") {
    if (!/^file:\/\/\/[^?#]*$/i.test(url)) {
      throw new ProxyListError(
        `invalid file:// proxy URL with non-path elements: ${shown} (want file:///absolute/path)`,
      );
    }
  } else if (scheme === "http" || scheme === "https") {
    if (!HTTP_URL.test(url) || !URL.canParse(url)) {
      throw new ProxyListError(
        `invalid proxy URL: ${shown} (want scheme://host[:port][/path], no query or fragment)`,
      );
    }
  } else {
    throw new ProxyListError(`invalid proxy URL scheme (must be https, http, file): ${shown}`);
  }
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

/** `host:port` of `url`, the port spelled out: as `--allow-net` and go's errors name it. */
export function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || defaultPort(url)}`;
}

/** The port of an http or https URL that names none. */
export function defaultPort(url: URL): string {
  return url.protocol === "https:" ? "443" : "80";
}

/** How {@link tryProxies} tells the errors of an attempt apart. */
export interface ProxyWalk {
  /** Whether an error means "not here" (go's `fs.ErrNotExist`): the walk goes on past it. */
  notFound(e: unknown): boolean;
  /** Whether an error ends the walk at once, as it is (a local problem, or the run stopping). */
  fatal(e: unknown): boolean;
}

/**
 * Go's `TryProxies`: calls `attempt` on each entry of the list in turn until one succeeds. A
 * "not found" error moves on to the next entry; any other moves on only after `|`. When every
 * entry failed, the most helpful error is thrown: a `direct` entry's, else the last proxy error
 * that was not "not found", else the last "not found" one. Throws undefined for an empty list.
 *
 * @example
 * ```ts
 * const body = await tryProxies(parseProxyList("https://a.example|https://b.example", ""), get, {
 *   notFound: (e) => e instanceof NotFoundError,
 *   fatal: () => false,
 * });
 * ```
 */
export async function tryProxies<T>(
  entries: ProxyEntry[],
  attempt: (entry: ProxyEntry) => Promise<T>,
  walk: ProxyWalk,
): Promise<T> {
  let best: unknown;
  let rank = 0;
  for (const entry of entries) {
    try {
      return await attempt(entry);
    } catch (e) {
      if (walk.fatal(e)) throw e;
      const notFound = walk.notFound(e);
      if (entry.kind === "direct") [best, rank] = [e, 2];
      else if (rank <= 1 && !notFound) [best, rank] = [e, 1];
      else if (rank === 0) best = e;
      if (!entry.fallBackOnError && !notFound) break;
    }
  }
  throw best;
}
