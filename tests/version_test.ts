/**
 * The version goprefetch reports (`VERSION`, `--version`, the JSON report's `tool`) is the one
 * deno.json publishes, which the release workflow checks against the tag.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { VERSION } from "../mod.ts";
import { runCli } from "./support/cli.ts";

Deno.test("version: VERSION is deno.json's version", () => {
  assert.match(config.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(
    VERSION,
    config.version,
    "set VERSION in src/engine/version.ts to deno.json's version",
  );
});

Deno.test("version: --version prints deno.json's version", async () => {
  const r = await runCli(["--version"], { cwd: Deno.cwd(), env: {} });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `goprefetch ${config.version}\n`);
});
