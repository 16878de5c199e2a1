import assert from "node:assert/strict";
import { canonicalInfo, InfoError } from "../../src/goproxy/info.ts";

const info = (o: unknown) =>
  new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));

Deno.test("canonicalInfo writes Version and Time compactly, without a newline", () => {
  assert.equal(
    canonicalInfo(info({ Version: "v1.0.0", Time: "2023-01-02T03:04:05Z" }), "v1.0.0"),
    '{"Version":"v1.0.0","Time":"2023-01-02T03:04:05Z"}',
  );
});

Deno.test("canonicalInfo trims fraction zeros, keeps offsets, writes Z for UTC", () => {
  const cases: [string, string][] = [
    ["2023-01-02T03:04:05.120000+02:00", "2023-01-02T03:04:05.12+02:00"],
    ["2023-01-02T03:04:05+00:00", "2023-01-02T03:04:05Z"],
    ["2023-01-02T03:04:05.000000000Z", "2023-01-02T03:04:05Z"],
    ["2023-01-02T03:04:05.123456789-07:30", "2023-01-02T03:04:05.123456789-07:30"],
  ];
  for (const [given, want] of cases) {
    assert.equal(
      canonicalInfo(info({ Version: "v1.0.0", Time: given }), "v1.0.0"),
      `{"Version":"v1.0.0","Time":"${want}"}`,
    );
  }
});

Deno.test("canonicalInfo writes go's zero time when Time is missing", () => {
  assert.equal(
    canonicalInfo(info({ Version: "v1.0.0" }), "v1.0.0"),
    '{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z"}',
  );
});

Deno.test("canonicalInfo orders and cleans Origin as go 1.22+ does, dropping unknown fields", () => {
  const body = {
    Extra: 1,
    Origin: {
      Ref: "refs/tags/v1.0.0",
      Hash: "abc",
      URL: "https://example.com/r?a=1&b=<2>",
      VCS: "git",
      TagSum: "t1:x",
      TagPrefix: "p",
      RepoSum: "r1:y",
      Other: "z",
    },
    Time: "2023-01-02T03:04:05Z",
    Version: "v1.0.0",
  };
  assert.equal(
    canonicalInfo(info(body), "v1.0.0"),
    '{"Version":"v1.0.0","Time":"2023-01-02T03:04:05Z","Origin":{"VCS":"git",' +
      '"URL":"https://example.com/r?a=1\\u0026b=\\u003c2\\u003e","Hash":"abc","Ref":"refs/tags/v1.0.0"}}',
  );
});

Deno.test("canonicalInfo drops Origin.Ref for pseudo-versions", () => {
  const v = "v0.0.0-20240102030405-abcdefabcdef";
  assert.equal(
    canonicalInfo(
      info({ Version: v, Time: "2024-01-02T03:04:05Z", Origin: { VCS: "git", Ref: "HEAD" } }),
      v,
    ),
    `{"Version":"${v}","Time":"2024-01-02T03:04:05Z","Origin":{"VCS":"git"}}`,
  );
});

Deno.test("canonicalInfo refuses invalid JSON, another version, and a bad time", () => {
  assert.throws(() => canonicalInfo(info("{"), "v1.0.0"), InfoError);
  assert.throws(
    () => canonicalInfo(info({ Version: "v1.0.1" }), "v1.0.0"),
    /returned info for version v1\.0\.1 instead of requested version/,
  );
  assert.throws(
    () => canonicalInfo(info({ Version: "v1.0.0", Time: "yesterday" }), "v1.0.0"),
    /not RFC 3339/,
  );
});
