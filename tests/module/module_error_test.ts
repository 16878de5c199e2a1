import assert from "node:assert/strict";
import { ModuleError } from "../../src/module/module_error.ts";
import { ZipRuleError } from "../../src/zip/zip_rules.ts";

Deno.test("ModuleError: the message is path@version and the detail", () => {
  const e = new ModuleError("example.com/m", "v1.0.0", "404 Not Found");
  assert.equal(e.message, "example.com/m@v1.0.0: 404 Not Found");
  assert.equal(e.detail, "404 Not Found");
  assert.equal(e.path, "example.com/m");
  assert.equal(e.version, "v1.0.0");
});

Deno.test("ModuleError.of wraps once: an error about the same module is kept as it is", () => {
  const rule = new ZipRuleError("symlink", "example.com/m", "v1.0.0", 'zip entry "a": link');
  assert.equal(ModuleError.of("example.com/m", "v1.0.0", rule), rule);
  const twice = ModuleError.of(
    "example.com/m",
    "v1.0.0",
    ModuleError.of("example.com/m", "v1.0.0", new Error("x")),
  );
  assert.equal(twice.message, "example.com/m@v1.0.0: x");
});

Deno.test("ModuleError.of wraps any other error, and one about another module, keeping it as the cause", () => {
  const plain = new Error("connection reset");
  const e = ModuleError.of("example.com/m", "v1.0.0", plain);
  assert.equal(e.message, "example.com/m@v1.0.0: connection reset");
  assert.equal(e.cause, plain);
  const other = new ModuleError("example.com/other", "v2.0.0", "bad");
  const wrapped = ModuleError.of("example.com/m", "v1.0.0", other);
  assert.equal(wrapped.message, "example.com/m@v1.0.0: example.com/other@v2.0.0: bad");
  assert.equal(wrapped.cause, other);
  assert.equal(ModuleError.of("m", "v1.0.0", "text").detail, "text");
});
