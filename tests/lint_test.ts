import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { appliesTo, MAX_LINES } from "../lint/function_length.ts";

const PLUGIN = join(import.meta.dirname!, "..", "lint", "function_length.ts");

/** A function of exactly `lines` lines. */
function fn(name: string, lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  console.log(${i});`);
  return [`export function ${name}(): void {`, ...body, "}"].join("\n");
}

Deno.test("lint: the function-length rule flags a function over the limit, not one at it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ lint: { plugins: [pathToFileURL(PLUGIN).href], rules: { include: [] } } }),
    );
    await Deno.mkdir(join(dir, "src", "zip"), { recursive: true });
    const file = join(dir, "src", "zip", "long.ts");
    await Deno.writeTextFile(
      file,
      [fn("atLimit", MAX_LINES), fn("overLimit", MAX_LINES + 1), ""].join("\n\n"),
    );
    const out = await new Deno.Command("deno", {
      args: ["lint", `--config=${join(dir, "deno.json")}`, file],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text);
    const flagged = [...text.matchAll(/This function is (\d+) lines long/g)].map((m) => m[1]);
    assert.deepEqual(flagged, [String(MAX_LINES + 1)], text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lint: the rule holds src/ and the entry points, not tests or the bench", () => {
  assert.ok(appliesTo("/r/src/engine/pipeline.ts"));
  assert.ok(appliesTo("file:///r/cli.ts"));
  assert.ok(appliesTo("/r/mod.ts"));
  assert.ok(!appliesTo("/r/tests/oracle_test.ts"));
  assert.ok(!appliesTo("/r/bench/main.ts"));
  assert.ok(!appliesTo("/r/tests/support/go.ts"));
});
