import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { appliesTo, MAX_LINES } from "../lint/function_length.ts";

const PLUGIN = join(import.meta.dirname!, "..", "lint", "function_length.ts");

/** A body of `lines` lines. */
function body(lines: number): string[] {
  return Array.from({ length: lines }, (_, i) => `  console.log(${i});`);
}

/** A function of exactly `lines` lines. */
function fn(name: string, lines: number): string {
  return [`export function ${name}(): void {`, ...body(lines - 2), "}"].join("\n");
}

/** A class whose method is exactly `lines` lines, and an arrow function of as many. */
function methodAndArrow(lines: number): string {
  return [
    "export class C {",
    "  method(): void {",
    ...body(lines - 2),
    "  }",
    "}",
    "export const arrow = (): void => {",
    ...body(lines - 2),
    "};",
  ].join("\n");
}

Deno.test("lint: the function-length rule flags functions, methods and arrows over the limit, not at it", async () => {
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
      [
        fn("atLimit", MAX_LINES),
        fn("overLimit", MAX_LINES + 1),
        methodAndArrow(MAX_LINES),
        methodAndArrow(MAX_LINES + 1).replaceAll("C ", "D ").replace("arrow", "arrow2"),
        "",
      ].join("\n\n"),
    );
    const out = await new Deno.Command("deno", {
      args: ["lint", `--config=${join(dir, "deno.json")}`, file],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text);
    const flagged = [...text.matchAll(/This function is (\d+) lines long/g)].map((m) => m[1]);
    assert.deepEqual(flagged, Array(3).fill(String(MAX_LINES + 1)), text);
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
