/**
 * GitHub Actions: a Markdown summary appended to `$GITHUB_STEP_SUMMARY`, and every failure as
 * an `::error::` workflow command, escaped as the workflow-command rules require.
 *
 * @module
 */
import { formatBytes } from "./output.ts";
import type { ModuleRecord, PrefetchReport } from "../engine/report.ts";

/** Whether this process runs as a GitHub Actions step. */
export function inGitHubActions(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === "true" || Boolean(env.GITHUB_STEP_SUMMARY);
}

/** Escapes a workflow command's message: `%`, `\r` and `\n`. */
function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** Escapes a workflow command's property value: as {@link escapeData}, and `:` and `,`. */
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

/**
 * One `::error::` line per failed module, titled with the module, or one for an error that
 * kept the run from starting; escaped as the workflow-command rules require.
 */
export function errorCommands(failure: PrefetchReport | string): string {
  if (typeof failure === "string") return `::error title=goprefetch::${escapeData(failure)}\n`;
  const run = failure.error ? `::error title=goprefetch::${escapeData(failure.error)}\n` : "";
  return run +
    failure.modules.filter((m) => m.status === "failed").map((m) =>
      `::error title=${escapeProperty(`goprefetch: ${m.path}@${m.version}`)}::` +
      `${escapeData(m.error ?? "failed")}\n`
    ).join("");
}

/**
 * The step summary of a run: a totals table, the five slowest modules fetched and every
 * failure; or, for a run that could not start, its error.
 */
export function stepSummary(outcome: PrefetchReport | string): string {
  if (typeof outcome === "string") return `### goprefetch failed\n\n${quote(outcome)}\n\n`;
  const t = outcome.totals;
  const lines = ["### goprefetch", ""];
  if (outcome.note) lines.push(cell(outcome.note), "");
  lines.push(
    "| fetched | already cached | skipped (private/direct) | failed | cancelled | " +
      (outcome.settings.dryRun ? "to fetch | " : "") + "downloaded | time |",
    "| ---: | ---: | ---: | ---: | ---: | " + (outcome.settings.dryRun ? "---: | " : "") +
      "---: | ---: |",
    `| ${t.fetched} | ${t.cached} | ${t.skipped} | ${t.failed} | ${t.cancelled} | ` +
      (outcome.settings.dryRun ? `${t.planned} | ` : "") +
      `${formatBytes(t.bytes)} | ${t.seconds.toFixed(1)} s |`,
    "",
  );
  const slowest = outcome.modules.filter((m) => m.status === "fetched")
    .sort((a, b) => b.ms - a.ms).slice(0, 5);
  if (slowest.length > 0) {
    lines.push(
      "Slowest modules:",
      "",
      "| module | size | time | proxy | retries |",
      "| --- | ---: | ---: | --- | ---: |",
      ...slowest.map((m) =>
        `| ${cell(id(m))} | ${formatBytes(m.bytes)} | ${m.ms} ms | ${cell(m.proxy ?? "")} | ` +
        `${m.retries} |`
      ),
      "",
    );
  }
  const failed = outcome.modules.filter((m) => m.status === "failed");
  if (outcome.error || failed.length > 0) {
    const errors = [
      ...outcome.error ? [outcome.error] : [],
      ...failed.map((m) => m.error ?? id(m)),
    ];
    lines.push("Failures:", "", ...errors.map((e) => `- ${quote(e)}`), "");
  }
  return lines.join("\n") + "\n";
}

function id(m: ModuleRecord): string {
  return `${m.path}@${m.version}`;
}

/** Text for a Markdown table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replaceAll("|", "\\|");
}

/** Text as one line of a code span, whatever backticks it holds. */
function quote(text: string): string {
  const flat = text.replace(/\s+/g, " ");
  const fence = "`".repeat(
    (flat.match(/`+/g) ?? []).reduce((n, r) => Math.max(n, r.length), 0) + 1,
  );
  return `${fence} ${flat} ${fence}`;
}
