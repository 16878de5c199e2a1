/**
 * The record of one module version while it is worked on: the pipeline and the toolchain step
 * both keep theirs with a {@link RecordKeeper}, so that status, time and error are set one way.
 *
 * @module
 */
import { ModuleError } from "../module/module_error.ts";
import type { ModuleRecord } from "./report.ts";

/** Keeps one module's record: counts its time and settles its status. */
export class RecordKeeper {
  /** The record, filled in as the work goes. */
  readonly record: ModuleRecord;
  #started = performance.now();

  /** Starts a `fetched` record of nothing yet for `path@version`. */
  constructor(path: string, version: string, zip: boolean, files: string[] = []) {
    this.record = { path, version, zip, status: "fetched", bytes: 0, ms: 0, retries: 0, files };
  }

  /** Restarts the clock: a module's time counts from when its own work starts. */
  restart(): void {
    this.#started = performance.now();
  }

  /** Settles the record with `status` (and `error`), and its time so far. */
  finish(status: ModuleRecord["status"], error?: string): ModuleRecord {
    this.record.status = status;
    if (error !== undefined) this.record.error = error;
    this.record.ms = Math.round(performance.now() - this.#started);
    return this.record;
  }

  /** Settles the record as failed with `e`, which names the module once ({@link ModuleError}). */
  failed(e: unknown): ModuleRecord {
    return this.finish("failed", ModuleError.of(this.record.path, this.record.version, e).message);
  }
}
