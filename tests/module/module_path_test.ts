import assert from "node:assert/strict";
import { ModuleError } from "../../src/module/module_error.ts";
import {
  checkFilePath,
  checkModule,
  checkPath,
  escapePath,
  escapeVersion,
  InvalidPathError,
  InvalidVersionError,
  matchPrefixPatterns,
  unescapePath,
  unescapeVersion,
} from "../../src/module/module_path.ts";

function accepts(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

// Ported from golang.org/x/mod module/module_test.go (checkPathTests): path, valid module
// path, valid file path. Go's invalid-UTF-8 case "x.y/\xFFz" becomes a lone surrogate here,
// the only way a JavaScript string can fail to be valid Unicode.
const PATHS: [string, boolean, boolean][] = [
  ["x.y/z", true, true],
  ["x.y", true, true],
  ["", false, false],
  ["x.y/\uD800z", false, false],
  ["/x.y/z", false, false],
  ["x./z", false, false],
  [".x/z", false, true],
  ["-x/z", false, true],
  ["x..y/z", true, true],
  ["x.y/z/../../w", false, false],
  ["x.y//z", false, false],
  ["x.y/z//w", false, false],
  ["x.y/z/", false, false],
  ["x.y/z/v0", false, true],
  ["x.y/z/v1", false, true],
  ["x.y/z/v2", true, true],
  ["x.y/z/v2.0", false, true],
  ["X.y/z", false, true],
  ["!x.y/z", false, true],
  ["_x.y/z", false, true],
  ["x.y!/z", false, true],
  ['x.y"/z', false, false],
  ["x.y#/z", false, true],
  ["x.y$/z", false, true],
  ["x.y%/z", false, true],
  ["x.y&/z", false, true],
  ["x.y'/z", false, false],
  ["x.y(/z", false, true],
  ["x.y)/z", false, true],
  ["x.y*/z", false, false],
  ["x.y+/z", false, true],
  ["x.y,/z", false, true],
  ["x.y-/z", true, true],
  ["x.y./zt", false, false],
  ["x.y:/z", false, false],
  ["x.y;/z", false, false],
  ["x.y</z", false, false],
  ["x.y=/z", false, true],
  ["x.y>/z", false, false],
  ["x.y?/z", false, false],
  ["x.y@/z", false, true],
  ["x.y[/z", false, true],
  ["x.y\\/z", false, false],
  ["x.y]/z", false, true],
  ["x.y^/z", false, true],
  ["x.y_/z", false, true],
  ["x.y`/z", false, false],
  ["x.y{/z", false, true],
  ["x.y}/z", false, true],
  ["x.y~/z", false, true],
  ["x.y/z!", false, true],
  ['x.y/z"', false, false],
  ["x.y/z#", false, true],
  ["x.y/z$", false, true],
  ["x.y/z%", false, true],
  ["x.y/z&", false, true],
  ["x.y/z'", false, false],
  ["x.y/z(", false, true],
  ["x.y/z)", false, true],
  ["x.y/z*", false, false],
  ["x.y/z++", false, true],
  ["x.y/z,", false, true],
  ["x.y/z-", true, true],
  ["x.y/z.t", true, true],
  ["x.y/z/t", true, true],
  ["x.y/z:", false, false],
  ["x.y/z;", false, false],
  ["x.y/z<", false, false],
  ["x.y/z=", false, true],
  ["x.y/z>", false, false],
  ["x.y/z?", false, false],
  ["x.y/z@", false, true],
  ["x.y/z[", false, true],
  ["x.y/z\\", false, false],
  ["x.y/z]", false, true],
  ["x.y/z^", false, true],
  ["x.y/z_", true, true],
  ["x.y/z`", false, false],
  ["x.y/z{", false, true],
  ["x.y/z}", false, true],
  ["x.y/z~", true, true],
  ["x.y/x.foo", true, true],
  ["x.y/aux.foo", false, false],
  ["x.y/prn", false, false],
  ["x.y/prn2", true, true],
  ["x.y/com", true, true],
  ["x.y/com1", false, false],
  ["x.y/com1.txt", false, false],
  ["x.y/calm1", true, true],
  ["x.y/z~0", false, true],
  ["x.y/z~09", false, true],
  ["x.y/z09", true, true],
  ["x.y/z09~", true, true],
  ["x.y/z09~09z", true, true],
  ["x.y/z09~09z~09", false, true],
  ["github.com/!123/logrus", false, true],
  ["github.com/user/unicode/испытание", false, true],
  ["../x", false, false],
  ["./y", false, false],
  ["x:y", false, false],
  ["\\temp\\foo", false, false],
  [".gitignore", false, true],
  [".github/ISSUE_TEMPLATE", false, true],
  ["x☺y", false, false],
];

Deno.test("checkPath and checkFilePath agree with the x/mod table", () => {
  for (const [path, moduleOK, fileOK] of PATHS) {
    assert.equal(accepts(() => checkPath(path)), moduleOK, `checkPath(${JSON.stringify(path)})`);
    assert.equal(
      accepts(() => checkFilePath(path)),
      fileOK,
      `checkFilePath(${JSON.stringify(path)})`,
    );
  }
});

Deno.test("checkFilePath rejects Windows reserved names in any case, before the first dot", () => {
  for (const name of ["CON", "prn", "Aux", "nUl", "COM1", "com9", "LPT1", "lpt9"]) {
    for (const path of [name, `${name}.txt`, `${name}.tar.gz`, `a/${name}`, `a/${name}.go/b`]) {
      assert.equal(accepts(() => checkFilePath(path)), false, path);
    }
  }
  for (const path of ["COM0", "COM10", "LPT", "CONS", "con_", "a.con", "xnul", "a/AUXfile"]) {
    assert.equal(accepts(() => checkFilePath(path)), true, path);
  }
});

Deno.test("checkFilePath allows Unicode letters but not other non-ASCII characters", () => {
  for (const path of ["é.go", "日本語/ファイル.txt", "a/𝒜.go", "ǅ/ʰ", "a b/c d.go", "-x/.y"]) {
    assert.equal(accepts(() => checkFilePath(path)), true, path);
  }
  for (const path of ["١.go", "a/²", "x\u0301", "a/\u00a0", "€", "😀.go", "a/\uDC00", "a\tb"]) {
    assert.equal(accepts(() => checkFilePath(path)), false, path);
  }
});

Deno.test("path errors carry Go's messages", () => {
  const cases: [() => void, string][] = [
    [() => checkPath("x"), 'malformed module path "x": missing dot in first path element'],
    [() => checkPath(""), 'malformed module path "": empty string'],
    [() => checkPath("-x.y"), 'malformed module path "-x.y": leading dash'],
    [() => checkPath("x.y//z"), 'malformed module path "x.y//z": double slash'],
    [() => checkPath("x.y/"), 'malformed module path "x.y/": trailing slash'],
    [() => checkPath("/x.y"), 'malformed module path "/x.y": empty path element'],
    [() => checkPath("x.y/../z"), 'malformed module path "x.y/../z": invalid path element ".."'],
    [() => checkPath("x.y/.z"), 'malformed module path "x.y/.z": leading dot in path element'],
    [() => checkPath("x.y/z."), 'malformed module path "x.y/z.": trailing dot in path element'],
    [() => checkPath("x.y/a\\b"), `malformed module path "x.y/a\\\\b": invalid char '\\\\'`],
    [() => checkPath("x.y/a'b"), `malformed module path "x.y/a'b": invalid char '\\''`],
    [() => checkPath('x.y/a"b'), `malformed module path "x.y/a\\"b": invalid char '"'`],
    [() => checkPath("x.y/é"), `malformed module path "x.y/é": invalid char 'é'`],
    [() => checkPath("x.y/a\nb"), `malformed module path "x.y/a\\nb": invalid char '\\n'`],
    [() => checkPath("x.y/a\x00"), `malformed module path "x.y/a\\x00": invalid char '\\x00'`],
    [() => checkPath("x.y/\u00a0"), `malformed module path "x.y/\\u00a0": invalid char '\\u00a0'`],
    [() => checkPath("x.y/\uD800"), 'malformed module path "x.y/\\ud800": invalid UTF-8'],
    [
      () => checkPath("X.y/z"),
      `malformed module path "X.y/z": invalid char 'X' in first path element`,
    ],
    [
      () => checkPath("x_y.z"),
      `malformed module path "x_y.z": invalid char '_' in first path element`,
    ],
    [() => checkPath("x.y/z/v1"), 'malformed module path "x.y/z/v1": invalid version'],
    [
      () => checkPath("x.y/LPT3.go"),
      `malformed module path "x.y/LPT3.go": "LPT3" disallowed as path element component on Windows`,
    ],
    [
      () => checkPath("x.y/abc~1"),
      'malformed module path "x.y/abc~1": trailing tilde and digits in path element',
    ],
    [
      () => checkFilePath("a/aux.go"),
      'malformed file path "a/aux.go": "aux" disallowed as path element component on Windows',
    ],
    [() => checkFilePath("x/../y"), 'malformed file path "x/../y": invalid path element ".."'],
    [() => checkFilePath("a:b"), `malformed file path "a:b": invalid char ':'`],
    [() => checkFilePath("a☺"), `malformed file path "a☺": invalid char '☺'`],
  ];
  for (const [fn, message] of cases) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof InvalidPathError);
      assert.equal(e.message, message);
      return true;
    });
  }
});

// Ported from golang.org/x/mod module/module_test.go (checkTests).
const MODULES: [string, string, boolean][] = [
  ["rsc.io/quote", "0.1.0", false],
  ["rsc io/quote", "v1.0.0", false],
  ["github.com/go-yaml/yaml", "v0.8.0", true],
  ["github.com/go-yaml/yaml", "v1.0.0", true],
  ["github.com/go-yaml/yaml", "v2.0.0", false],
  ["github.com/go-yaml/yaml", "v2.1.5", false],
  ["github.com/go-yaml/yaml", "v3.0.0", false],
  ["github.com/go-yaml/yaml/v2", "v1.0.0", false],
  ["github.com/go-yaml/yaml/v2", "v2.0.0", true],
  ["github.com/go-yaml/yaml/v2", "v2.1.5", true],
  ["github.com/go-yaml/yaml/v2", "v3.0.0", false],
  ["gopkg.in/yaml.v0", "v0.8.0", true],
  ["gopkg.in/yaml.v0", "v1.0.0", false],
  ["gopkg.in/yaml.v0", "v2.0.0", false],
  ["gopkg.in/yaml.v0", "v2.1.5", false],
  ["gopkg.in/yaml.v0", "v3.0.0", false],
  ["gopkg.in/yaml.v1", "v0.8.0", false],
  ["gopkg.in/yaml.v1", "v1.0.0", true],
  ["gopkg.in/yaml.v1", "v2.0.0", false],
  ["gopkg.in/yaml.v1", "v2.1.5", false],
  ["gopkg.in/yaml.v1", "v3.0.0", false],
  ["gopkg.in/check.v1", "v0.0.0", false],
  ["gopkg.in/check.v1", "v0.0.0-20160102150405-abcdef123456", true],
  ["gopkg.in/yaml.v2", "v1.0.0", false],
  ["gopkg.in/yaml.v2", "v2.0.0", true],
  ["gopkg.in/yaml.v2", "v2.1.5", true],
  ["gopkg.in/yaml.v2", "v3.0.0", false],
  ["rsc.io/quote", "v17.0.0", false],
  ["rsc.io/quote", "v17.0.0+incompatible", true],
  // Not in x/mod's table; these follow SplitPathVersion and CheckPathMajor.
  ["gopkg.in/yaml.v2-unstable", "v2.0.0", true],
  ["gopkg.in/yaml", "v1.0.0", false],
  ["gopkg.in/yaml.v01", "v1.0.0", false],
  ["example.com/m/v2", "v2.0.0+incompatible", true],
  ["example.com/m/v2", "v3.0.0+incompatible", false],
  ["example.com/m/v02", "v2.0.0", false],
  ["example.com/m/v10", "v10.1.0-pre", true],
  ["example.com/mv2", "v1.0.0", true],
  ["example.com/m/v1", "v1.0.0", false],
  ["example.com/m", "v1.2", true],
  ["example.com/m", "", false],
];

Deno.test("checkModule agrees with the x/mod table", () => {
  for (const [path, version, ok] of MODULES) {
    assert.equal(accepts(() => checkModule(path, version)), ok, `${path}@${version}`);
  }
});

Deno.test("checkModule errors name the module and version", () => {
  const cases: [string, string, string][] = [
    ["rsc.io/quote", "0.1.0", "rsc.io/quote@0.1.0: invalid version: not a semantic version"],
    [
      "github.com/go-yaml/yaml",
      "v2.0.0",
      "github.com/go-yaml/yaml@v2.0.0: invalid version: should be v0 or v1, not v2",
    ],
    [
      "github.com/go-yaml/yaml/v2",
      "v3.0.0",
      "github.com/go-yaml/yaml/v2@v3.0.0: invalid version: should be v2, not v3",
    ],
    [
      "gopkg.in/yaml.v1",
      "v0.8.0",
      "gopkg.in/yaml.v1@v0.8.0: invalid version: should be v1, not v0",
    ],
  ];
  for (const [path, version, message] of cases) {
    assert.throws(() => checkModule(path, version), (e: unknown) => {
      assert.ok(e instanceof ModuleError);
      assert.equal(e.path, path);
      assert.equal(e.version, version);
      assert.equal(e.message, message);
      return true;
    });
  }
  assert.throws(() => checkModule("rsc io/quote", "v1.0.0"), InvalidPathError);
});

// From module_test.go (escapeTests) plus the spec's examples.
const ESCAPED_PATHS: [string, string][] = [
  [
    "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
    "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
  ],
  ["github.com/GoogleCloudPlatform/omega", "github.com/!google!cloud!platform/omega"],
  ["github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"],
  ["github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"],
  ["github.com/Sirupsen/logrus", "github.com/!sirupsen/logrus"],
  ["example.com/ABC/Z", "example.com/!a!b!c/!z"],
];

Deno.test("escapePath and unescapePath round-trip the x/mod examples", () => {
  for (const [path, escaped] of ESCAPED_PATHS) {
    assert.equal(escapePath(path), escaped);
    assert.equal(unescapePath(escaped), path);
  }
});

Deno.test("escapePath and unescapePath reject invalid module paths", () => {
  for (const [path, moduleOK] of PATHS) {
    if (moduleOK) continue;
    assert.throws(() => escapePath(path), InvalidPathError, JSON.stringify(path));
    assert.throws(() => unescapePath(path), InvalidPathError, JSON.stringify(path));
  }
});

Deno.test("unescapePath rejects malformed escapes", () => {
  for (
    const bad of [
      "github.com/GoogleCloudPlatform/omega",
      "github.com/!google!cloud!platform!/omega",
      "github.com/!0google!cloud!platform/omega",
      "github.com/!_google!cloud!platform/omega",
      "github.com/!!google!cloud!platform/omega",
      "github.com/x!",
      "github.com/é",
      "",
    ]
  ) {
    assert.throws(() => unescapePath(bad), InvalidPathError, bad);
  }
  assert.throws(() => unescapePath("github.com/!x!"), {
    message: 'invalid escaped module path "github.com/!x!"',
  });
  assert.throws(() => unescapePath("!example.com/m"), {
    message:
      'invalid escaped module path "!example.com/m": malformed module path "Example.com/m": invalid char \'E\' in first path element',
  });
});

Deno.test("escapeVersion and unescapeVersion", () => {
  const cases: [string, string][] = [
    ["v1.0.0-RC1", "v1.0.0-!r!c1"],
    ["v1.2.3", "v1.2.3"],
    ["v2.0.0+incompatible", "v2.0.0+incompatible"],
    ["latest", "latest"],
    ["Master", "!master"],
  ];
  for (const [version, escaped] of cases) {
    assert.equal(escapeVersion(version), escaped);
    assert.equal(unescapeVersion(escaped), version);
  }
  for (const bad of ["", "v1!", "v1/2", "v1.0.0-é", "..", "v1.", "aux", "a:b", "x y*"]) {
    assert.throws(() => escapeVersion(bad), InvalidVersionError, bad);
  }
  assert.throws(() => escapeVersion("v1!"), {
    message: 'version "v1!" invalid: disallowed version string',
  });
  for (const bad of ["V1.0.0", "v1.0.0-!R", "v1!", "v1.0.0-!!r", "v1/2", "", "é"]) {
    assert.throws(() => unescapeVersion(bad), InvalidVersionError, bad);
  }
  assert.throws(() => unescapeVersion("v1/!a"), {
    message: "invalid escaped version \"v1/A\": invalid char '/'",
  });
});

Deno.test("matchPrefixPatterns agrees with the x/mod vectors", () => {
  const cases: [string, string, boolean][] = [
    ["", "rsc.io/quote", false],
    ["/", "rsc.io/quote", false],
    ["*/quote", "rsc.io/quote", true],
    ["*/quo", "rsc.io/quote", false],
    ["*/quo??", "rsc.io/quote", true],
    ["*/quo*", "rsc.io/quote", true],
    ["*quo*", "rsc.io/quote", false],
    ["rsc.io", "rsc.io/quote", true],
    ["*.io", "rsc.io/quote", true],
    ["rsc.io/", "rsc.io/quote", true],
    ["rsc", "rsc.io/quote", false],
    ["rsc*", "rsc.io/quote", true],
    ["rsc.io", "rsc.io/quote/v3", true],
    ["*/quote", "rsc.io/quote/v3", true],
    ["*/quote/", "rsc.io/quote/v3", true],
    ["*/quote/*", "rsc.io/quote/v3", true],
    ["*/quote/*/", "rsc.io/quote/v3", true],
    ["*/v3", "rsc.io/quote/v3", false],
    ["*/*/v3", "rsc.io/quote/v3", true],
    ["*/*/*", "rsc.io/quote/v3", true],
    ["*/*/*/", "rsc.io/quote/v3", true],
    ["*/*/*", "rsc.io/quote", false],
    ["*/*/*/", "rsc.io/quote", false],
    ["*/*/*,,", "rsc.io/quote", false],
    ["*/*/*,,*/quote", "rsc.io/quote", true],
    [",,*/quote", "rsc.io/quote", true],
    // From the spec: no trimming, case-sensitive, "none" matches nothing, bad patterns skipped.
    [" rsc.io", "rsc.io/quote", false],
    ["RSC.io", "rsc.io/quote", false],
    ["none", "rsc.io/quote", false],
    ["rsc.io//", "rsc.io/quote", false],
    ["[,rsc.io", "rsc.io/quote", true],
    ["rsc.io[", "rsc.io/quote", false],
    ["*.corp.example.com,rsc.io/private", "git.corp.example.com/team/repo", true],
    ["*.corp.example.com,rsc.io/private", "rsc.io/private/quote", true],
    ["*.corp.example.com,rsc.io/private", "rsc.io/public", false],
  ];
  for (const [globs, target, want] of cases) {
    assert.equal(matchPrefixPatterns(globs, target), want, `${globs} vs ${target}`);
  }
});

Deno.test("matchPrefixPatterns uses path.Match glob semantics", () => {
  // From Go's path/match_test.go, for names with as many slashes as their pattern, so that
  // the whole name is the matched prefix; an ErrBadPattern case counts as no match.
  const cases: [string, string, boolean][] = [
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*", "abc", true],
    ["a*/b", "abc/b", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
    ["a*b?c*x", "abxbbxdbxebxczzx", true],
    ["a*b?c*x", "abxbbxdbxebxczzy", false],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[e-g]", "abc", false],
    ["ab[^c]", "abc", false],
    ["ab[^b-d]", "abc", false],
    ["ab[^e-g]", "abc", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "ab", false],
    ["a?b", "a☺b", true],
    ["a[^a]b", "a☺b", true],
    ["a???b", "a☺b", false],
    ["a[^a][^a][^a]b", "a☺b", false],
    ["[a-ζ]*", "α", true],
    ["*[a-ζ]", "A", false],
    ["[\\]a]", "]", true],
    ["[\\-]", "-", true],
    ["[x\\-]", "x", true],
    ["[x\\-]", "-", true],
    ["[x\\-]", "z", false],
    ["[\\-x]", "x", true],
    ["[\\-x]", "-", true],
    ["[\\-x]", "a", false],
    ["[]a]", "]", false],
    ["[-]", "-", false],
    ["[x-]", "x", false],
    ["[x-]", "-", false],
    ["[x-]", "z", false],
    ["[-x]", "x", false],
    ["[-x]", "-", false],
    ["[-x]", "a", false],
    ["\\", "a", false],
    ["[a-b-c]", "a", false],
    ["[", "a", false],
    ["[^", "a", false],
    ["[^bc", "a", false],
    ["a[", "a", false],
    ["a[", "ab", false],
    ["a[", "x", false],
    ["*x", "xxx", true],
    // Not in Go's table: only a class can match "/", the target is cut after as many
    // elements as the pattern has, and a bad pattern after a match fails.
    ["*[/]b", "a/b/c", true],
    ["*", "a/b", true],
    ["a*/*", "ab/c", true],
    ["a/b*[", "a/bc", false],
    ["x/[\uD800]", "x/y", false],
  ];
  for (const [pattern, name, want] of cases) {
    assert.equal(matchPrefixPatterns(pattern, name), want, `${pattern} vs ${name}`);
  }
});
