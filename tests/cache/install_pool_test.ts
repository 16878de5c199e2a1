import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallPool } from "../../src/cache/install_pool.ts";
import type { InstallJob } from "../../src/cache/installer.ts";
import { modulePaths } from "../../src/cache/module_cache.ts";
import { mkdirAll, removeTree } from "../../src/util/files.ts";
import { rawZip } from "../support/raw_zip.ts";
import { zipH1 } from "../support/raw_module.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A job for module `example.com/<name>` whose zip stores `size` bytes, so it is about that big;
 * its `@v` directory is made, as the pipeline makes it before it installs.
 */
function job(root: string, name: string, size: number): InstallJob {
  mkdirAll(modulePaths(root, `example.com/${name}`, "v1.0.0").atV);
  const prefix = `example.com/${name}@v1.0.0/`;
  const entries = [
    { name: `${prefix}go.mod`, data: `module example.com/${name}\n` },
    { name: `${prefix}blob`, data: new Uint8Array(size), method: 0 },
  ];
  return {
    root,
    path: `example.com/${name}`,
    version: "v1.0.0",
    zipHashes: [zipH1(entries)],
    modcacherw: false,
    umask: 0o022,
    zip: { kind: "bytes", bytes: rawZip(entries) },
  };
}

/** Installs `sizes` (name → zip size) with one worker, all queued at once; returns the order they end in. */
async function finishingOrder(sizes: Record<string, number>): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "goprefetch-pool-" });
  const pool = new InstallPool(1);
  const finished: string[] = [];
  try {
    await Promise.all(
      Object.entries(sizes).map(([name, size]) =>
        pool.install(job(join(root, "mod"), name, size)).then(() => finished.push(name))
      ),
    );
    return finished;
  } finally {
    pool.close();
    removeTree(root);
  }
}

Deno.test("install pool: a worker running a long install takes no second job, and the biggest waiting goes first", async () => {
  assert.deepEqual(
    await finishingOrder({ long: 2 * MiB, small: 1 * KiB, longer: 3 * MiB }),
    ["long", "longer", "small"],
  );
});

Deno.test("install pool: a worker running a short install takes a second job at once", async () => {
  const order = await finishingOrder({ a: 4 * KiB, b: 1 * KiB, big: 2 * MiB, bigger: 3 * MiB });
  assert.deepEqual(new Set(order.slice(0, 2)), new Set(["a", "b"]), "b did not wait for a");
  assert.deepEqual(order.slice(2), ["bigger", "big"]);
});
