/**
 * The `.info` file: the proxy's JSON rewritten in the exact bytes go's `writeDiskStat`
 * produces, so that go reads it back as canonical and never rewrites it.
 *
 * @module
 */
import { isPseudoVersion } from "../module/semver.ts";

/** A `.info` response that go would refuse. */
export class InfoError extends Error {
  override name = "InfoError";
}

const ORIGIN_FIELDS = ["VCS", "URL", "Subdir", "Hash", "TagPrefix", "TagSum", "Ref", "RepoSum"];
const CLEARED_FIELDS = new Set(["TagPrefix", "TagSum", "RepoSum"]);
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * Turns a proxy's `.info` body into the bytes go writes to the cache: compact JSON with
 * `Version`, `Time` (RFC 3339, fraction trimmed, `Z` for UTC) and a cleaned `Origin`,
 * no trailing newline. Throws when the body is not valid or names another version.
 *
 * @example
 * ```ts
 * import { canonicalInfo } from "./info.ts";
 * canonicalInfo(new TextEncoder().encode('{"Version":"v1.0.0","Time":"2024-01-02T03:04:05.500+00:00"}'), "v1.0.0");
 * // '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05.5Z"}'
 * ```
 */
export function canonicalInfo(body: Uint8Array, version: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    throw new InfoError(`Invalid .info response from proxy: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InfoError("Invalid .info response from proxy: not a JSON object");
  }
  const info = parsed as Record<string, unknown>;
  const got = field(info, "Version") ?? "";
  if (typeof got !== "string") {
    throw new InfoError("Invalid .info response: Version is not a string");
  }
  if (got !== version) {
    throw new InfoError(`Proxy returned info for version ${got} instead of requested version`);
  }
  const time = field(info, "Time");
  if (time !== undefined && time !== null && typeof time !== "string") {
    throw new InfoError("Invalid .info response: Time is not a string");
  }
  let out = `{"Version":${goJsonString(got)},"Time":${
    goJsonString(typeof time === "string" ? canonicalTime(time) : ZERO_TIME)
  }`;
  const origin = field(info, "Origin");
  if (origin !== undefined && origin !== null) {
    out += `,"Origin":${canonicalOrigin(origin, version)}`;
  }
  return out + "}";
}

function canonicalOrigin(origin: unknown, version: string): string {
  if (typeof origin !== "object" || Array.isArray(origin)) {
    throw new InfoError("Invalid .info response: Origin is not an object");
  }
  const parts: string[] = [];
  for (const name of ORIGIN_FIELDS) {
    const value = field(origin as Record<string, unknown>, name);
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") {
      throw new InfoError(`Invalid .info response: Origin.${name} is not a string`);
    }
    if (value === "" || CLEARED_FIELDS.has(name)) continue;
    if (name === "Ref" && isPseudoVersion(version)) continue;
    parts.push(`"${name}":${goJsonString(value)}`);
  }
  return `{${parts.join(",")}}`;
}

/** encoding/json matches keys exactly first, then case-insensitively. */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}

const TIME_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function canonicalTime(time: string): string {
  const m = TIME_RE.exec(time);
  if (!m) {
    throw new InfoError(`Invalid .info response: Time ${JSON.stringify(time)} is not RFC 3339`);
  }
  const fraction = (m[2] ?? "").replace(/0+$/, "");
  const offset = m[3] === "+00:00" || m[3] === "-00:00" ? "Z" : m[3];
  return m[1] + (fraction ? "." + fraction : "") + offset;
}

/** A JSON string as Go's encoding/json writes it (HTML-safe escapes included). */
function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else out += ch;
  }
  return out + '"';
}
