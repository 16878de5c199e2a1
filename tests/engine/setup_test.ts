import assert from "node:assert/strict";
import { join } from "node:path";
import { GoSumError } from "../../src/project/gosum.ts";
import { loadGoEnv, loadSetup, loadSums, SetupError } from "../../src/engine/setup.ts";
import { testHost } from "../support/host.ts";

Deno.test("setup: an error from below keeps its message and becomes the cause", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sum = join(dir, "go.sum");
    Deno.writeTextFileSync(sum, "example.com/m v1.0.0\n");
    const host = testHost({ HOME: dir, GOMODCACHE: join(dir, "mod") }, dir);
    assert.throws(
      () => loadSums([sum], host),
      (e) =>
        e instanceof SetupError && e.cause instanceof Error &&
        e.message === e.cause.message && e.cause.cause instanceof GoSumError,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("setup: a directory with no go.mod, and a relative GOMODCACHE, are setup errors", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const host = testHost({ HOME: dir, GOMODCACHE: join(dir, "mod") }, dir);
    assert.throws(
      () => loadSetup({}, host),
      (e) => e instanceof SetupError && e.cause !== undefined,
    );
    assert.throws(
      () => loadGoEnv({ gomodcache: "relative/mod" }, host),
      (e) => e instanceof SetupError && /GOMODCACHE entry is relative/.test(e.message),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
