/**
 * `goprefetch verify`: re-hash every cached module version that go.sum names, on this
 * thread and, when there is enough to hash, in Web Workers too, and report what does not
 * match.
 *
 * @module
 */
import type { Host } from "../project/host.ts";
import { modulePaths } from "../cache/module_cache.ts";
import { loadSetup, loadSums, type SetupOptions } from "./setup.ts";
import { VERSION } from "./version.ts";
import { turnEvery } from "../util/turns.ts";
import { type VerifyJob, verifyModule, type VerifyRecord } from "../cache/verify_module.ts";

/** The result of a verify run. */
export interface VerifyReport {
  /** goprefetch's version. */
  tool: { name: string; version: string };
  /** What was verified. */
  settings: { dir: string; gomodcache: string; project: string; sumFiles: string[] };
  /** Warnings, such as unknown hash algorithms in go.sum. */
  warnings: string[];
  /** One record per module version named by go.sum, in go.sum order. */
  modules: VerifyRecord[];
  /** Counts by status, and the wall time in seconds. */
  totals: { ok: number; absent: number; modified: number; seconds: number };
}

/** Options of a verify run. */
export type VerifyOptions = Pick<SetupOptions, "dir" | "recursive" | "env" | "gomodcache"> & {
  /** Web Workers hashing besides this thread. Default: one per other CPU (at most 7) when the zips add up to more than 16 MiB, else none. */
  workers?: number;
};

/**
 * Verifies the cache against the go.sum files of the project in `options.dir` (a module, a
 * workspace, or with `recursive` every module below it).
 *
 * @throws {SetupError} when the run cannot start.
 * @example
 * ```ts
 * import { currentHost } from "../project/host.ts";
 * const report = await runVerify({ dir: "." }, currentHost());
 * if (report.totals.modified > 0) Deno.exit(1);
 * ```
 */
export async function runVerify(options: VerifyOptions, host: Host): Promise<VerifyReport> {
  const started = performance.now();
  const setup = loadSetup(options, host);
  const report: VerifyReport = {
    tool: { name: "goprefetch", version: VERSION },
    settings: {
      dir: setup.dir,
      gomodcache: setup.gomodcache,
      project: setup.project.mode,
      sumFiles: setup.project.sumFiles,
    },
    warnings: [],
    modules: [],
    totals: { ok: 0, absent: 0, modified: 0, seconds: 0 },
  };
  const sum = loadSums(setup.project.sumFiles, host, setup.project.workFile);
  report.warnings.push(...sum.warnings);
  const jobs = [...sum.modules.values()].map((sums) => ({ root: setup.gomodcache, sums }));
  const workers = options.workers ?? defaultWorkers(jobs);
  report.modules = await inWorkers(jobs, workers);
  for (const m of report.modules) report.totals[m.status]++;
  report.totals.seconds = Math.round(performance.now() - started) / 1000;
  return report;
}

/** Below this many bytes of zips, starting workers costs more than it saves. */
const WORKER_THRESHOLD = 16 * 1024 * 1024;

/** One worker per CPU besides this thread's, at most 7, when there is enough to hash. */
function defaultWorkers(jobs: VerifyJob[]): number {
  let bytes = 0;
  for (const { root, sums } of jobs) {
    try {
      bytes += Deno.statSync(modulePaths(root, sums.path, sums.version).base + ".zip").size;
    } catch {
      continue;
    }
    if (bytes > WORKER_THRESHOLD) {
      return Math.min(Math.max(navigator.hardwareConcurrency - 1, 1), 7);
    }
  }
  return 0;
}

/** Jobs sent to a worker ahead, so it never waits for this thread to hand it the next one. */
const WORKER_QUEUE = 2;

/** Milliseconds of hashing on this thread between turns of its event loop (the workers' messages). */
const TURN_MS = 4;

/**
 * Runs the jobs in `size` workers and on this thread too, each taking the next job as it
 * finishes one: this thread starts at once, while the workers take some 40 ms to start, so
 * a small cache is done before they are. This thread yields every few milliseconds to let
 * the workers' results in.
 */
async function inWorkers(jobs: VerifyJob[], size: number): Promise<VerifyRecord[]> {
  const results: VerifyRecord[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.min(size, jobs.length - 1) },
    () => new Worker(new URL("../cache/verify_worker.ts", import.meta.url), { type: "module" }),
  );
  const inWorker = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      let pending = 0;
      const give = () => {
        for (; pending < WORKER_QUEUE && next < jobs.length; pending++) {
          worker.postMessage({ id: next, job: jobs[next++] });
        }
        if (pending === 0) resolve();
      };
      worker.onmessage = (e: MessageEvent<{ id: number; record: VerifyRecord }>) => {
        results[e.data.id] = e.data.record;
        pending--;
        give();
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`Verify worker crashed: ${e.message}`));
      };
      give();
    });
  const here = async () => {
    const breathe = turnEvery(TURN_MS);
    while (next < jobs.length) {
      const i = next++;
      results[i] = verifyModule(jobs[i]);
      const turn = breathe();
      if (turn) await turn;
    }
  };
  try {
    await Promise.all([here(), ...workers.map(inWorker)]);
  } finally {
    for (const w of workers) w.terminate();
  }
  return results;
}
