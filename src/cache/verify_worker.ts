/**
 * Web Worker entry that runs {@link verifyModule} off the main thread, so modules are
 * inflated, read and hashed on every core.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type VerifyJob, verifyModule } from "./verify_module.ts";

self.onmessage = (e: MessageEvent<{ id: number; job: VerifyJob }>) => {
  self.postMessage({ id: e.data.id, record: verifyModule(e.data.job) });
};
