/**
 * Web Worker entry that runs {@link installModule} and {@link StreamedInstall} off the main
 * thread, so inflating, hashing and writing never stall the event loop that drives the
 * downloads.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ModuleError } from "../module/module_error.ts";
import type { WorkerFailure } from "./install_pool.ts";
import { type InstallJob, installModule, type InstallTarget } from "./installer.ts";
import { StreamedInstall } from "./streamed_install.ts";

/** What the pool posts: a whole job, or the steps of a streamed install, all by request id. */
export type WorkerMessage =
  | { id: number; job: InstallJob }
  | { id: number; begin: InstallTarget; file: string; size: number }
  | { id: number; grew: number }
  | { id: number; end: true }
  | { id: number; abandon: true };

/** Streamed installs by id, or the error that kept one from starting. */
const streams = new Map<number, { target: InstallTarget; install: StreamedInstall | Error }>();

self.onmessage = async (e: MessageEvent<WorkerMessage>) => {
  const m = e.data;
  if ("job" in m) return await answer(m.id, m.job, () => installModule(m.job), m.job);
  if ("begin" in m) return begin(m.id, m.begin, m.file, m.size);
  const stream = streams.get(m.id);
  if (stream === undefined) return;
  const { target, install } = stream;
  if ("grew" in m) {
    if (!(install instanceof Error)) install.grew(m.grew);
    return;
  }
  streams.delete(m.id);
  await answer(m.id, target, async () => {
    if (install instanceof Error) throw install;
    if ("end" in m) return await install.finish();
    install.abandon();
  });
};

/** Starts a streamed install, giving up the one before it under the same id. */
function begin(id: number, target: InstallTarget, file: string, size: number): void {
  const before = streams.get(id)?.install;
  try {
    if (before instanceof StreamedInstall) before.abandon();
    streams.set(id, { target, install: new StreamedInstall(target, file, size) });
  } catch (err) {
    streams.set(id, { target, install: err as Error });
  }
}

async function answer(
  id: number,
  target: InstallTarget,
  run: () => Promise<unknown>,
  job?: InstallJob,
): Promise<void> {
  try {
    self.postMessage({ id, result: await run() });
  } catch (err) {
    const { got } = err as Error & { got?: string };
    const detail = ModuleError.of(target.path, target.version, err).detail;
    const error: WorkerFailure = { detail, got };
    self.postMessage({ id, error });
  } finally {
    // The zip was transferred here and is on disk now, or failed: detaching frees its memory
    // at once, where dropping it would keep it until this isolate's next full collection.
    if (job?.zip.kind === "bytes") (job.zip.bytes.buffer as ArrayBuffer).transfer(0);
  }
}
