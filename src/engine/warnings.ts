/**
 * The warnings that say a run did less than it seems: nothing prefetched although modules were
 * missing from the cache, and build-list `.info` files that could not be fetched. Each is one
 * line, however many modules it concerns.
 *
 * @module
 */
import { firstKind, type ProxyEntry } from "../goproxy/proxy_list.ts";
import type { LeftToGoReason, ModuleRecord, ReportWarning } from "./report.ts";

/** Module versions named in a warning before "and N more". */
const NAMED = 3;

/**
 * The `nothing-prefetched` warning: some modules were missing from the cache, and none was
 * fetched, because each was left to the go command (GONOPROXY, `direct`) or GOPROXY is `off`.
 * Undefined when something was (or, in a dry run, would be) fetched, when nothing was missing,
 * or when a module failed at a proxy (its error says why).
 */
export function nothingPrefetched(
  records: ModuleRecord[],
  proxies: ProxyEntry[],
  gonoproxy: string,
  dryRun: boolean,
): ReportWarning | undefined {
  const head = firstKind(proxies);
  const reasons: Partial<Record<LeftToGoReason, number>> = {};
  let missing = 0;
  for (const r of records) {
    if (r.status === "fetched") return undefined;
    if (r.status === "cached") continue;
    const reason: LeftToGoReason | undefined = r.status === "private"
      ? "gonoproxy"
      : head === "direct" || head === "off"
      ? head
      : r.status === "direct"
      ? "fallback"
      : undefined;
    if (reason === undefined) return undefined;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    missing++;
  }
  if (missing === 0) return undefined;
  const them = `the ${missing} ${plural(missing, "module")} missing from the cache`;
  const rules = `GONOPROXY/GOPRIVATE (${gonoproxy})`;
  const other = (Object.keys(reasons) as LeftToGoReason[]).find((k) => k !== "gonoproxy");
  const clause = (reason: LeftToGoReason, modules: string): string =>
    ({
      direct: `GOPROXY=direct leaves ${modules} to the go command`,
      off: `GOPROXY=off disables downloads, for go too: ${modules} stay missing`,
      gonoproxy: `${rules} leaves ${modules} to the go command`,
      fallback: `no proxy before "direct" has ${modules}, left to the go command`,
    })[reason];
  const why = other === undefined || reasons.gonoproxy === undefined
    ? clause(other ?? "gonoproxy", them)
    : `of ${them}, ${clause("gonoproxy", String(reasons.gonoproxy))}, and ` +
      clause(other, `the other ${reasons[other]}`);
  const message = `Nothing ${dryRun ? "would be " : ""}prefetched: ${why}`;
  return { kind: "nothing-prefetched", message, modules: missing, reasons };
}

/** A build-list `.info` not fetched: `id` is `path@version`, `why` the cause. */
export interface MissingInfo {
  /** The module, `path@version`. */
  id: string;
  /** Why its `.info` could not be fetched. */
  why: string;
}

/**
 * The `build-list-info` warning for the build-list `.info` files not fetched: one line naming
 * the modules, the first few of many, and the first one's cause. Undefined when none is missing.
 */
export function missingInfos(missing: MissingInfo[]): ReportWarning | undefined {
  if (missing.length === 0) return undefined;
  const sorted = [...missing].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const modules = sorted.map((m) => m.id);
  const consequence = 'so "GOPROXY=off go list -m all" will fail for';
  const message = sorted.length === 1
    ? `No .info fetched for ${modules[0]} of the build list, ${consequence} it: ${sorted[0].why}`
    : `No .info fetched for ${sorted.length} modules of the build list (${
      modules.slice(0, NAMED).join(", ")
    }${sorted.length > NAMED ? ` and ${sorted.length - NAMED} more` : ""}), ${consequence} ` +
      `them: ${modules[0]}: ${sorted[0].why}`;
  return { kind: "build-list-info", message, modules };
}

/**
 * The structured list of a report's warnings: each message as its structured warning among
 * `structured`, or else as an `other` one.
 */
export function warningDetails(messages: string[], structured: ReportWarning[]): ReportWarning[] {
  return messages.map((message) =>
    structured.find((w) => w.message === message) ?? { kind: "other", message }
  );
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
