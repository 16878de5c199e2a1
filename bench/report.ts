/**
 * Turns the benchmark's runs into a summary: one row per set, profile and contender, with the
 * median and range of wall time, CPU time, peak RSS, bytes served, connections opened per
 * origin and the time ratio to the reference goprefetch run of the same round, and for a run
 * under the lag probe, its main-thread event-loop lag. The footer adds the sets, the extra
 * measurements, notes, and for a -c sweep the best -c of each set and profile. Rendered as
 * Markdown; kept as JSON.
 *
 * @module
 */
import type { LagStats } from "./lag_probe.ts";
import type { Connections } from "./proxy.ts";

/** What the footer says about one set's mirror. */
export interface SetNote {
  /** Set name. */
  name: string;
  /** Pinned version of the project's module. */
  version: string;
  /** The project's go line. */
  goLine: string;
  /** Zip lines of go.sum. */
  zipModules: number;
  /** go.mod-only lines of go.sum. */
  goModOnly: number;
  /** Bytes of a full fetch. */
  bytes: number;
  /** Whether the gate builds the project. */
  buildsAlone: boolean;
  /** Versions of go.sum left out because the module proxy lacks them. */
  unavailable: string[];
}

/** A measurement of goprefetch outside the table: a no-op rerun, or startup alone. */
export interface Extra {
  /** What was measured. */
  what: string;
  /** Wall time in milliseconds. */
  wallMs: number;
  /** Peak RSS in KiB. */
  maxRssKiB: number;
}

/** One timed run of one contender. */
export interface RunRecord {
  /** Set name. */
  set: string;
  /** Network profile name. */
  profile: string;
  /** Contender label. */
  contender: string;
  /** Round number, from 0; contenders of one round run back to back. */
  round: number;
  /** Wall time in milliseconds. */
  wallMs: number;
  /** User plus system CPU seconds. */
  cpuS: number;
  /** System CPU seconds. */
  sysS: number;
  /** Peak RSS in KiB. */
  maxRssKiB: number;
  /** Body bytes the proxy served (for the disk floor: the set's bytes on disk). */
  bytes: number;
  /** Requests the proxy answered. */
  requests: number;
  /** Connections the proxy saw opened, per origin; null for contenders that read the disk. */
  connections: Connections | null;
  /** Of those, the connections that carried a request. */
  usedConnections: Connections | null;
  /** Exit status. */
  code: number;
  /** Whether the run counts: exit 0 and the correctness gate passed (floors have no gate). */
  ok: boolean;
  /** The gate's verdict or the failure. */
  detail: string;
  /** The main thread's event-loop lag, for a run under the lag probe. */
  lag: LagStats | null;
}

/** The summary of one contender on one set and profile. */
export interface Row {
  /** Set name. */
  set: string;
  /** Network profile name. */
  profile: string;
  /** Contender label. */
  contender: string;
  /** Runs made. */
  runs: number;
  /** Runs that did not count (non-zero exit or gate failure). */
  failed: number;
  /** Median, min and max wall time over the runs that counted, in ms. */
  wallMs: { median: number; min: number; max: number };
  /** Median CPU seconds, user plus system. */
  cpuS: number;
  /** Median system CPU seconds. */
  sysS: number;
  /** Largest peak RSS in MiB. */
  maxRssMiB: number;
  /** Median bytes served. */
  bytes: number;
  /** Median connections opened per origin; null for contenders that read the disk. */
  connections: Connections | null;
  /** Median connections that carried a request, per origin. */
  usedConnections: Connections | null;
  /** Median over rounds of this contender's wall time over the reference's, same round. */
  ratio: number | null;
  /** The first failure's detail, if any. */
  failure: string | null;
  /** Event-loop lag over the runs that counted, for runs under the lag probe. */
  lag: LagSummary | null;
}

/** A row's event-loop lag: the median over its runs of each run's figure, and the worst run. */
export interface LagSummary {
  /** Runs with lag figures. */
  runs: number;
  /** The probe's timer period, in ms. */
  tickMs: number;
  /** Median of the runs' median lag, in ms. */
  p50Ms: number;
  /** Median of the runs' 99th percentile lag, in ms. */
  p99Ms: number;
  /** Median of the runs' largest lag, in ms. */
  maxMs: number;
  /** The largest lag of any run, in ms. */
  worstMs: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Summarizes `runs` into rows, ratios taken against the `reference` contender's run of the same
 * set, profile and round.
 */
export function summarize(runs: RunRecord[], reference: string): Row[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = `${r.set}\0${r.profile}\0${r.contender}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const refWall = (r: RunRecord) =>
    runs.find((x) =>
      x.set === r.set && x.profile === r.profile && x.round === r.round &&
      x.contender === reference && x.ok
    )?.wallMs;
  return [...groups.values()].map((rs) => {
    const good = rs.filter((r) => r.ok);
    const shown = good.length > 0 ? good : rs;
    const walls = shown.map((r) => r.wallMs);
    const lags = good.flatMap((r) => r.lag ? [r.lag] : []);
    const ratios = good.flatMap((r) => {
      const ref = refWall(r);
      return ref ? [r.wallMs / ref] : [];
    });
    return {
      set: rs[0].set,
      profile: rs[0].profile,
      contender: rs[0].contender,
      runs: rs.length,
      failed: rs.length - good.length,
      wallMs: { median: median(walls), min: Math.min(...walls), max: Math.max(...walls) },
      cpuS: median(shown.map((r) => r.cpuS)),
      sysS: median(shown.map((r) => r.sysS)),
      maxRssMiB: Math.max(...shown.map((r) => r.maxRssKiB)) / 1024,
      bytes: median(shown.map((r) => r.bytes)),
      connections: medianConnections(shown.map((r) => r.connections)),
      usedConnections: medianConnections(shown.map((r) => r.usedConnections)),
      ratio: ratios.length > 0 ? median(ratios) : null,
      failure: rs.find((r) => !r.ok)?.detail ?? null,
      lag: lags.length === 0 ? null : {
        runs: lags.length,
        tickMs: lags[0].tickMs,
        p50Ms: median(lags.map((l) => l.p50Ms)),
        p99Ms: median(lags.map((l) => l.p99Ms)),
        maxMs: median(lags.map((l) => l.maxMs)),
        worstMs: Math.max(...lags.map((l) => l.maxMs)),
      },
    };
  });
}

/** The median of each origin's count, or null when the runs have none. */
function medianConnections(cs: (Connections | null)[]): Connections | null {
  const known = cs.filter((c) => c !== null);
  if (known.length === 0) return null;
  return { main: median(known.map((c) => c.main)), zip: median(known.map((c) => c.zip)) };
}

const s = (ms: number) => (ms / 1000).toFixed(2);

/** `main+zip` opened, and those used when fewer. */
function connectionsCell(r: Row): string {
  const [c, u] = [r.connections, r.usedConnections];
  if (!c) return "";
  const opened = `${c.main}+${c.zip}`;
  return u && (u.main !== c.main || u.zip !== c.zip)
    ? `${opened} (${u.main}+${u.zip} used)`
    : opened;
}

/**
 * Renders rows as a Markdown table. A row with failed runs says so before its times, which are
 * then those of the runs that counted, or of all runs when none did (and it gets no ratio).
 */
export function markdown(rows: Row[]): string {
  const lines = [
    "| set | profile | contender | wall median (min–max) s | CPU s (sys) | peak RSS MiB | MiB served | connections main+zip | ÷ goprefetch |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const times = `${s(r.wallMs.median)} (${s(r.wallMs.min)}–${s(r.wallMs.max)})`;
    const cells = [
      r.set,
      r.profile,
      r.contender,
      r.failed > 0 ? `**FAILED ${r.failed}/${r.runs}** ${times}` : times,
      `${r.cpuS.toFixed(1)} (${r.sysS.toFixed(1)})`,
      r.maxRssMiB.toFixed(0),
      (r.bytes / 2 ** 20).toFixed(1),
      connectionsCell(r),
      r.ratio === null ? "" : r.ratio.toFixed(2),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const failures = rows.filter((r) => r.failure);
  if (failures.length > 0) lines.push("", "Failures (first of each row):");
  for (const r of failures) lines.push(`- ${r.set}/${r.profile}/${r.contender}: ${r.failure}`);
  return lines.join("\n");
}

/** A warning when the project's go line is newer than the local go (`go1.26.8`). */
function newerGo(goLine: string, localGo: string): string {
  const parts = (v: string) => v.replace(/^go/, "").split(/[.a-z]/).map(Number);
  const [a, b] = [parts(goLine), parts(localGo)];
  for (let i = 0; i < 3; i++) {
    if ((a[i] || 0) !== (b[i] || 0)) {
      return (a[i] || 0) > (b[i] || 0) ? `, newer than the local ${localGo}` : "";
    }
  }
  return "";
}

/** What the footer is made of. */
export interface FooterInput {
  /** The sets run. */
  sets: SetNote[];
  /** Measurements outside the table. */
  extras: Extra[];
  /** Notes in words, e.g. how a contender was built or why it could not be. */
  notes: string[];
  /** The table's rows. */
  rows: Row[];
  /** Every run. */
  runs: RunRecord[];
  /** The reference contender, e.g. `goprefetch -c 64`. */
  reference: string;
  /** The local go version, e.g. `go1.26.0`. */
  localGo: string;
}

/**
 * The notes under the table: the sets, goprefetch's no-op reruns and startup, the notes, its
 * peak RSS, the -c sweep of each set and profile, and the event-loop lag of the rows that have
 * it.
 */
export function footer(
  { sets, extras, notes, rows, runs, reference, localGo }: FooterInput,
): string {
  const lines = sets.map((m) =>
    `- ${m.name} ${m.version} (go ${m.goLine}${newerGo(m.goLine, localGo)}): ` +
    `${m.zipModules} zips + ${m.goModOnly} go.mod-only ` +
    `versions, ${(m.bytes / 2 ** 20).toFixed(1)} MiB; gate: ` +
    (m.buildsAlone
      ? "go build ./... and go mod verify"
      : "its go.mod less local replaces: every required tree present, go mod download and " +
        "go mod verify with GOPROXY=off") +
    (m.unavailable.length > 0 ? `; left out, not on the proxy: ${m.unavailable.join(", ")}` : "")
  );
  for (const e of extras) {
    lines.push(
      `- ${e.what}: ${e.wallMs.toFixed(0)} ms, peak RSS ${(e.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  }
  lines.push(...notes.map((n) => `- ${n}`));
  const refs = runs.filter((r) => r.contender === reference);
  if (refs.length > 0) {
    const rss = Math.max(...refs.map((r) => r.maxRssKiB)) / 1024;
    lines.push(
      `- peak RSS of ${reference}, largest over all runs: ${rss.toFixed(0)} MiB (target ≤ 256 MB)`,
    );
  }
  lines.push(...sweep(rows, reference));
  for (const r of rows) {
    if (!r.lag) continue;
    const ms = (x: number) => x.toFixed(1);
    lines.push(
      `- main-thread event-loop lag during ${r.contender}, ${r.set} ${r.profile} ` +
        `(${r.lag.tickMs} ms timer, median of ${r.lag.runs} runs): p50 ${ms(r.lag.p50Ms)} ms, ` +
        `p99 ${ms(r.lag.p99Ms)} ms, max ${ms(r.lag.maxMs)} ms (worst run ${ms(r.lag.worstMs)} ms)`,
    );
  }
  return lines.join("\n");
}

/**
 * One line per set and profile with two or more `goprefetch -c N` rows that counted: the best
 * -c and its median, the reference's median over the best's, and the worst's.
 */
function sweep(rows: Row[], reference: string): string[] {
  const groups = new Map<string, { c: number; row: Row }[]>();
  for (const row of rows) {
    const c = /^goprefetch -c (\d+)$/.exec(row.contender)?.[1];
    if (c === undefined || row.failed === row.runs) continue;
    const key = `${row.set} ${row.profile}`;
    groups.set(key, [...(groups.get(key) ?? []), { c: Number(c), row }]);
  }
  const lines = [];
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    const byTime = [...group].sort((a, b) => a.row.wallMs.median - b.row.wallMs.median);
    const best = byTime[0];
    const worst = byTime.at(-1)!;
    const ratio = (x: Row) => (x.wallMs.median / best.row.wallMs.median).toFixed(2);
    const ref = group.find((g) => g.row.contender === reference);
    lines.push(
      `- -c sweep, ${key}: best -c ${best.c} at ${s(best.row.wallMs.median)} s; ` +
        (ref ? `${reference} ×${ratio(ref.row)} of best; ` : "") +
        `worst -c ${worst.c} ×${ratio(worst.row)} of best`,
    );
  }
  return lines;
}
