/**
 * Web Worker entry that runs {@link installModule} off the main thread, so inflating,
 * hashing and writing never stall the event loop that drives the downloads.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ModuleError } from "../module/module_error.ts";
import type { WorkerFailure } from "./install_pool.ts";
import { type InstallJob, installModule } from "./installer.ts";

/** The install under way: a job posted meanwhile starts when it ends, not at its first await. */
let previous = Promise.resolve();

self.onmessage = (e: MessageEvent<{ id: number; job: InstallJob }>) => {
  previous = previous.then(() => install(e.data.id, e.data.job));
};

async function install(id: number, job: InstallJob): Promise<void> {
  try {
    self.postMessage({ id, result: await installModule(job) });
  } catch (err) {
    const { got } = err as Error & { got?: string };
    const error: WorkerFailure = { detail: ModuleError.of(job.path, job.version, err).detail, got };
    self.postMessage({ id, error });
  } finally {
    // The zip was transferred here and is on disk now, or failed: detaching frees its memory
    // at once, where dropping it would keep it until this isolate's next full collection.
    if (job.zip.kind === "bytes") (job.zip.bytes.buffer as ArrayBuffer).transfer(0);
  }
}
