/**
 * The CPU and disk floor: every zip of a set, read from local disk and written again (the cache
 * keeps it), each entry inflated once, hashed (SHA-256, as the h1 dirhash needs) and written to
 * a fresh tree; one zip at a time in each of N workers (disk_floor_worker.ts), with synchronous
 * calls only. No tool that writes the same trees does less work; what this costs is the floor
 * under any contender.
 *
 * Run: `deno run -A bench/disk_floor.ts TREE OUT FILE_LIST N` where TREE is a GOPROXY tree, OUT
 * an empty directory (`-A` lets it be under /dev/shm), FILE_LIST the set's files, N workers.
 *
 * @module
 */
import { join } from "node:path";

/** Hands the zips out to `n` workers, one at a time each, and resolves when all are written. */
function runWorkers(tree: string, out: string, zips: string[], n: number): Promise<void> {
  let next = 0;
  let running = 0;
  return new Promise((resolve, reject) => {
    const feed = (w: Worker) => {
      if (next < zips.length) {
        const i = next++;
        w.postMessage({ zip: join(tree, zips[i]), out: join(out, String(i)) });
        return;
      }
      w.terminate();
      if (--running === 0) resolve();
    };
    for (let k = 0; k < Math.min(n, zips.length); k++) {
      const w = new Worker(new URL("./disk_floor_worker.ts", import.meta.url), { type: "module" });
      running++;
      w.onmessage = () => feed(w);
      w.onerror = (e) => reject(e.error ?? new Error(e.message));
      feed(w);
    }
  });
}

if (import.meta.main) {
  const [tree, out, list, n] = Deno.args;
  const zips = (await Deno.readTextFile(list)).split("\n").filter((f) => f.endsWith(".zip"));
  await runWorkers(tree, out, zips, Number(n));
}
