/**
 * A pool of install workers, started on first use. Each worker runs two jobs at a time: an
 * install waits on file system calls between its synchronous inflating, and the other job
 * uses that time.
 *
 * @module
 */
import { ModuleError } from "../module/module_error.ts";
import type { InstallJob, InstallResult } from "./installer.ts";

/** An install that failed in a worker, about the job's module. */
export class InstallError extends ModuleError {
  override name = "InstallError";
  /** The h1 the zip has, for a checksum mismatch. */
  readonly got?: string;

  /** Creates the error about `job`'s module from what the worker reported. */
  constructor(job: InstallJob, failure: WorkerFailure) {
    super(job.path, job.version, failure.detail);
    this.got = failure.got;
  }
}

/** How an install failed, as a worker reports it: plain data, with the module left out. */
export interface WorkerFailure {
  /** What went wrong, without the module's name. */
  detail: string;
  /** The h1 the zip has, for a checksum mismatch. */
  got?: string;
}

interface Pending {
  job: InstallJob;
  resolve: (r: InstallResult) => void;
  reject: (e: Error) => void;
}

/** Jobs one worker runs at a time. */
const JOBS_PER_WORKER = 2;

/** Runs install jobs in up to `size` Web Workers. */
export class InstallPool {
  #size: number;
  #workers: Worker[] = [];
  /** A worker once for each job it can take now, longest free first. */
  #idle: Worker[] = [];
  #queue: Pending[] = [];
  #running = new Map<number, Pending & { worker: Worker }>();
  #nextId = 0;

  /** Creates a pool of at most `size` workers. */
  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Installs `job` in a worker; a `bytes` zip is transferred, not copied. */
  install(job: InstallJob): Promise<InstallResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops every worker. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#spawn() ?? this.#idle.shift();
      if (!worker) return;
      const pending = this.#queue.shift()!;
      const id = this.#nextId++;
      this.#running.set(id, { ...pending, worker });
      const transfer = pending.job.zip.kind === "bytes" ? [pending.job.zip.bytes.buffer] : [];
      worker.postMessage({ id, job: pending.job }, transfer as Transferable[]);
    }
  }

  #spawn(): Worker | undefined {
    if (this.#workers.length >= this.#size) return undefined;
    const worker = new Worker(new URL("./install_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e) => this.#settle(worker, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      for (const [id, p] of this.#running) {
        if (p.worker !== worker) continue;
        this.#running.delete(id);
        p.reject(new InstallError(p.job, { detail: `Install worker crashed: ${e.message}` }));
      }
    };
    this.#workers.push(worker);
    for (let i = 1; i < JOBS_PER_WORKER; i++) this.#idle.push(worker);
    return worker;
  }

  #settle(
    worker: Worker,
    msg: {
      id: number;
      result?: InstallResult;
      error?: WorkerFailure;
    },
  ): void {
    const p = this.#running.get(msg.id);
    if (!p) return;
    this.#running.delete(msg.id);
    this.#idle.push(worker);
    if (msg.error) p.reject(new InstallError(p.job, msg.error));
    else p.resolve(msg.result!);
    this.#dispatch();
  }
}
