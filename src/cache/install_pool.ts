/**
 * A pool of install workers, started on first use. Each worker runs two jobs at a time: an
 * install waits on file system calls between its synchronous inflating, and the other job
 * uses that time. A streamed install (streamed_install.ts) takes no job slot: its worker
 * extracts each piece as it comes, between its jobs.
 *
 * @module
 */
import { ModuleError } from "../module/module_error.ts";
import type { InstallJob, InstallResult, InstallTarget } from "./installer.ts";
import type { WorkerMessage } from "./install_worker.ts";

/** An install that failed in a worker, about the job's module. */
export class InstallError extends ModuleError {
  override name = "InstallError";
  /** The h1 the zip has, for a checksum mismatch. */
  readonly got?: string;

  /** Creates the error about `job`'s module from what the worker reported. */
  constructor(job: InstallTarget, failure: WorkerFailure) {
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

/** A request a worker answers: a job in one of its slots, or a step of a streamed install. */
interface Running {
  job: InstallTarget;
  worker: Worker;
  /** True for a job, whose slot the answer frees. */
  slot: boolean;
  resolve: (r: InstallResult) => void;
  reject: (e: Error) => void;
}

/**
 * An install in a worker that follows its zip's temp file as the download writes it (see
 * streamed_install.ts); it is the `ZipSink` the proxy client writes the zip for.
 */
export interface InstallStream {
  /** Starts the install from `file` of `size` bytes; again for a new attempt, which starts over. */
  begin(file: string, size: number): void;
  /** The file now holds its first `size` bytes. */
  grew(size: number): void;
  /** The file of the last attempt begun, if any. */
  readonly file: string | undefined;
  /** Completes the install once the file holds every byte. */
  finish(): Promise<InstallResult>;
  /** Gives up the install, if one began; resolves once its files are gone. */
  abandon(): Promise<void>;
}

/** The least growth of a streamed zip worth telling its worker about. */
const GREW_STEP = 256 << 10;

/** Jobs one worker runs at a time. */
const JOBS_PER_WORKER = 2;

/** Runs install jobs in up to `size` Web Workers. */
export class InstallPool {
  #size: number;
  #workers: Worker[] = [];
  /** A worker once for each job it can take now, longest free first. */
  #idle: Worker[] = [];
  #queue: Pending[] = [];
  #running = new Map<number, Running>();
  #nextId = 0;
  #streams = 0;

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

  /**
   * Opens a streamed install of `target` in one worker, which every attempt goes to, so that
   * the steps of one module's install run in order.
   */
  stream(target: InstallTarget): InstallStream {
    const id = this.#nextId++;
    const worker = this.#streamWorker();
    let file: string | undefined;
    let told = 0;
    const post = (message: WorkerMessage) => worker.postMessage(message);
    const ask = (message: WorkerMessage) =>
      new Promise<InstallResult>((resolve, reject) => {
        this.#running.set(id, { job: target, worker, slot: false, resolve, reject });
        post(message);
      });
    return {
      begin: (begun, size) => {
        file = begun;
        told = 0;
        post({ id, begin: target, file, size });
      },
      grew: (size) => {
        if (size - told < GREW_STEP) return;
        told = size;
        post({ id, grew: size });
      },
      get file() {
        return file;
      },
      finish: () => ask({ id, end: true }),
      abandon: async () => {
        if (file !== undefined) await ask({ id, abandon: true });
      },
    };
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
      this.#running.set(id, { ...pending, worker, slot: true });
      const transfer = pending.job.zip.kind === "bytes" ? [pending.job.zip.bytes.buffer] : [];
      const message: WorkerMessage = { id, job: pending.job };
      worker.postMessage(message, transfer as Transferable[]);
    }
  }

  /** A worker for a streamed install: a new one while the pool may grow, else each in turn. */
  #streamWorker(): Worker {
    const spawned = this.#spawn();
    if (spawned) {
      this.#idle.push(spawned);
      return spawned;
    }
    return this.#workers[this.#streams++ % this.#workers.length];
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
    if (p.slot) this.#idle.push(worker);
    if (msg.error) p.reject(new InstallError(p.job, msg.error));
    else p.resolve(msg.result!);
    this.#dispatch();
  }
}
