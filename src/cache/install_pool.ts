/**
 * A pool of install workers, started on first use. A free worker takes the biggest zip
 * waiting. A busy one takes a second job only while the one it runs is short, so that job
 * starts as soon as the first ends, without waiting for the main thread; a job never waits
 * behind a long install while another worker comes free (at the end of a run, the biggest
 * zips arrive last, and two of them bound to one worker left the other idle for 200–300 ms).
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
  /** The zip's size in bytes, a measure of its install's length. */
  size: number;
  resolve: (r: InstallResult) => void;
  reject: (e: Error) => void;
}

/** Jobs one worker holds at a time: the one it runs, and the next, which it starts on its own. */
const JOBS_PER_WORKER = 2;

/**
 * The largest zip whose install counts as short, about 15 ms of one core: a busy worker takes
 * a second job only while every job it runs is at most this big.
 */
const SHORT_ZIP_BYTES = 1 << 20;

/** Runs install jobs in up to `size` Web Workers. */
export class InstallPool {
  #size: number;
  #workers: Worker[] = [];
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
      this.#queue.push({ job, size: zipSize(job), resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops every worker. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#freeWorker();
      if (!worker) return;
      const pending = this.#takeBiggest();
      const id = this.#nextId++;
      this.#running.set(id, { ...pending, worker });
      const transfer = pending.job.zip.kind === "bytes" ? [pending.job.zip.bytes.buffer] : [];
      worker.postMessage({ id, job: pending.job }, transfer as Transferable[]);
    }
  }

  /** A worker with nothing to do, a new one, or else one whose jobs are all short. */
  #freeWorker(): Worker | undefined {
    let short: Worker | undefined;
    for (const worker of this.#workers) {
      const sizes = [...this.#running.values()].flatMap((p) => p.worker === worker ? [p.size] : []);
      if (sizes.length === 0) return worker;
      if (
        short === undefined && sizes.length < JOBS_PER_WORKER &&
        sizes.every((s) => s <= SHORT_ZIP_BYTES)
      ) short = worker;
    }
    return this.#spawn() ?? short;
  }

  #takeBiggest(): Pending {
    let best = 0;
    for (let i = 1; i < this.#queue.length; i++) {
      if (this.#queue[i].size > this.#queue[best].size) best = i;
    }
    return this.#queue.splice(best, 1)[0];
  }

  #spawn(): Worker | undefined {
    if (this.#workers.length >= this.#size) return undefined;
    const worker = new Worker(new URL("./install_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e) => this.#settle(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      this.#workers = this.#workers.filter((w) => w !== worker);
      for (const [id, p] of this.#running) {
        if (p.worker !== worker) continue;
        this.#running.delete(id);
        p.reject(new InstallError(p.job, { detail: `Install worker crashed: ${e.message}` }));
      }
      this.#dispatch();
    };
    this.#workers.push(worker);
    return worker;
  }

  #settle(msg: { id: number; result?: InstallResult; error?: WorkerFailure }): void {
    const p = this.#running.get(msg.id);
    if (!p) return;
    this.#running.delete(msg.id);
    if (msg.error) p.reject(new InstallError(p.job, msg.error));
    else p.resolve(msg.result!);
    this.#dispatch();
  }
}

/** The job's zip size in bytes; a cached zip's is not known, and counts as long. */
function zipSize(job: InstallJob): number {
  switch (job.zip.kind) {
    case "bytes":
      return job.zip.bytes.byteLength;
    case "tempFile":
      return job.zip.size;
    case "cached":
      return Infinity;
  }
}
