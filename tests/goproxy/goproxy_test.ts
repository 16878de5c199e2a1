import assert from "node:assert/strict";
import { goPathEscape } from "../../src/goproxy/goproxy.ts";

Deno.test("goPathEscape escapes as Go's url.PathEscape does, keeping /", () => {
  const cases: [string, string][] = [
    ["golang.org/x/text/@v/v0.19.0.zip", "golang.org/x/text/@v/v0.19.0.zip"],
    ["github.com/!burnt!sushi/toml/@v/list", "github.com/%21burnt%21sushi/toml/@v/list"],
    ["example.com/a b/@v/v1.0.0+incompatible.mod", "example.com/a%20b/@v/v1.0.0+incompatible.mod"],
    ["example.com/é", "example.com/%C3%A9"],
    ["example.com/;,?#%", "example.com/%3B%2C%3F%23%25"],
    ["example.com/$&+:=@~-_.", "example.com/$&+:=@~-_."],
    ["example.com/a\n", "example.com/a%0A"],
    ["", ""],
  ];
  for (const [input, want] of cases) assert.equal(goPathEscape(input), want, input);
});
