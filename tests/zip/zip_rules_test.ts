import assert from "node:assert/strict";
import { TextReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";
import { bytesSource, readCentralDirectory, type ZipEntry } from "../../src/zip/zip_reader.ts";
import {
  checkZipEntries,
  MAX_GO_MOD,
  MAX_LICENSE,
  MAX_ZIP_FILE,
  type PlannedEntry,
  type ZipRule,
  ZipRuleError,
} from "../../src/zip/zip_rules.ts";
import { type RawEntry, rawZip } from "../support/raw_zip.ts";

const M = "example.com/m";
const V = "v1.0.0";
const P = `${M}@${V}/`;

function entries(files: (string | RawEntry)[]): ZipEntry[] {
  const raw = files.map((f) => typeof f === "string" ? { name: f, data: `content of ${f}` } : f);
  return readCentralDirectory(bytesSource(rawZip(raw)));
}

function check(files: (string | RawEntry)[], path = M, version = V): PlannedEntry[] {
  return checkZipEntries(path, version, 1000, entries(files));
}

function assertRule(fn: () => unknown, rule: ZipRule, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ZipRuleError, String(e));
    assert.equal(e.rule, rule);
    assert.equal(e.message, message);
    return true;
  });
}

function planned(list: PlannedEntry[]): [string, boolean][] {
  return list.map((p) => [p.relPath, p.isDirectory]);
}

// Cases mirror golang.org/x/mod zip/testdata/unzip/*.txt.

Deno.test("zip rules: simple is accepted, in central-directory order", () => {
  const result = check([`${P}go.mod`, `${P}m.go`, `${P}cmd/hello/hello.go`]);
  assert.deepEqual(planned(result), [["go.mod", false], ["m.go", false], [
    "cmd/hello/hello.go",
    false,
  ]]);
  assert.equal(result[1].entry.name, `${P}m.go`);
});

Deno.test("zip rules: a zip.js archive with directory entries is accepted", async () => {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
  await writer.add(P, undefined, { directory: true });
  await writer.add(`${P}cmd/`, undefined, { directory: true });
  await writer.add(`${P}go.mod`, new TextReader(`module ${M}\n`));
  await writer.add(`${P}cmd/main.go`, new TextReader("package main\n"));
  const zip = await writer.close();
  const src = bytesSource(zip);
  const result = checkZipEntries(M, V, src.size, readCentralDirectory(src));
  assert.deepEqual(planned(result), [["", true], ["cmd", true], ["go.mod", false], [
    "cmd/main.go",
    false,
  ]]);
});

Deno.test("zip rules: empty is accepted", () => {
  assert.deepEqual(checkZipEntries("example.com/empty", V, 22, entries([])), []);
});

Deno.test("zip rules: go_mod_dir (a directory named go.mod) is accepted", () => {
  assert.deepEqual(planned(check([`${P}go.mod/a.go`])), [["go.mod/a.go", false]]);
  assert.deepEqual(planned(check([`${P}go.mod/`, `${P}go.mod/a.go`])), [["go.mod", true], [
    "go.mod/a.go",
    false,
  ]]);
});

Deno.test("zip rules: bad_file_path", () => {
  assertRule(
    () => check([`${P}bad.go'`]),
    "invalid-file-path",
    `${M}@${V}: zip entry "bad.go'": malformed file path "bad.go'": invalid char '\\'' ` +
      "(rule invalid-file-path)",
  );
});

Deno.test("zip rules: bad_gomod_case", () => {
  assertRule(
    () => check([`${P}GO.MOD`]),
    "go-mod-case",
    `${M}@${V}: zip entry "GO.MOD": go.mod files must have lowercase names (rule go-mod-case)`,
  );
});

Deno.test("zip rules: bad_mod_path", () => {
  assertRule(
    () => check([], "cache"),
    "invalid-module",
    'cache@v1.0.0: malformed module path "cache": missing dot in first path element ' +
      "(rule invalid-module)",
  );
});

Deno.test("zip rules: bad_mod_path_version_suffix", () => {
  assertRule(
    () => check([], M, "v2.0.0"),
    "invalid-module",
    `${M}@v2.0.0: invalid version: should be v0 or v1, not v2 (rule invalid-module)`,
  );
});

Deno.test("zip rules: bad_submodule", () => {
  assertRule(
    () => check([`${P}go.mod`, `${P}sub/go.mod`]),
    "go-mod-not-at-root",
    `${M}@${V}: zip entry "sub/go.mod": go.mod file not in module root directory ` +
      "(rule go-mod-not-at-root)",
  );
});

Deno.test("zip rules: bad_version", () => {
  assertRule(
    () => check([], M, "v1.0.0+bad"),
    "non-canonical-version",
    `${M}@v1.0.0+bad: version "v1.0.0+bad" is not canonical (should be "v1.0.0") ` +
      "(rule non-canonical-version)",
  );
});

Deno.test("zip rules: cap_go_mod_not_submodule", () => {
  assertRule(
    () => check([`${P}a.go`, `${P}b/GO.MOD`, `${P}b/b.go`]),
    "go-mod-not-at-root",
    `${M}@${V}: zip entry "b/GO.MOD": go.mod file not in module root directory ` +
      "(rule go-mod-not-at-root)",
  );
});

Deno.test("zip rules: dup_file", () => {
  assertRule(
    () => check([`${P}dup.go`, `${P}dup.go`]),
    "duplicate-file",
    `${M}@${V}: zip entry "dup.go": multiple entries for file "dup.go" (rule duplicate-file)`,
  );
});

Deno.test("zip rules: dup_file_and_dir", () => {
  assertRule(
    () => check([`${P}a.go`, `${P}a.go/b.go`]),
    "file-dir-collision",
    `${M}@${V}: zip entry "a.go/b.go": entry "a.go" is both a file and a directory ` +
      "(rule file-dir-collision)",
  );
  assertRule(
    () => check([`${P}a/b.go`, `${P}a`]),
    "file-dir-collision",
    `${M}@${V}: zip entry "a": entry "a" is both a file and a directory (rule file-dir-collision)`,
  );
  assertRule(
    () => check([`${P}a/`, `${P}a`]),
    "file-dir-collision",
    `${M}@${V}: zip entry "a": entry "a" is both a file and a directory (rule file-dir-collision)`,
  );
  assert.deepEqual(planned(check([`${P}a/`, `${P}a/`, `${P}a/b`])), [["a", true], ["a", true], [
    "a/b",
    false,
  ]]);
});

Deno.test("zip rules: file_case_conflict", () => {
  assertRule(
    () => check([`${P}m.go`, `${P}M.GO`]),
    "case-collision",
    `${M}@${V}: zip entry "M.GO": case-insensitive file name collision: "m.go" and "M.GO" ` +
      "(rule case-collision)",
  );
  assertRule(
    () => check([`${P}dir/a.go`, `${P}DIR/b.go`]),
    "case-collision",
    `${M}@${V}: zip entry "DIR/b.go": case-insensitive file name collision: "dir" and "DIR" ` +
      "(rule case-collision)",
  );
});

Deno.test("zip rules: case folding follows Unicode simple folding", () => {
  const collides = (a: string, b: string): boolean => {
    try {
      check([`${P}${a}`, `${P}${b}`]);
      return false;
    } catch (e) {
      assert.ok(e instanceof ZipRuleError);
      assert.equal(e.rule, "case-collision");
      return true;
    }
  };
  assert.ok(collides("\u212a.go", "k.go"), "Kelvin sign and k");
  assert.ok(collides("\u017f.go", "S.go"), "long s and S");
  assert.ok(collides("\u03c2.go", "\u03a3.go"), "final sigma and capital sigma");
  assert.ok(collides("\u00df.go", "\u1e9e.go"), "sharp s and capital sharp s");
  assert.ok(collides("\u00e9t\u00e9.go", "\u00c9T\u00c9.go"), "accented letters");
  assert.ok(collides("\u{10428}.go", "\u{10400}.go"), "Deseret (astral) letters");
  assert.ok(!collides("\u00df.go", "ss.go"), "sharp s and ss");
  assert.ok(!collides("\u0131.go", "i.go"), "dotless i and i");
  assert.ok(!collides("\u0130.go", "i.go"), "dotted capital I and i");
});

Deno.test("zip rules: invalid_utf8_mod_path", () => {
  assertRule(
    () => check([], "\ud800", V),
    "invalid-module",
    `\ud800@${V}: malformed module path "\\ud800": invalid UTF-8 (rule invalid-module)`,
  );
  assert.throws(() => check([], "\ufffd", V), /invalid-module/);
});

Deno.test("zip rules: invalid UTF-8 in an entry name", () => {
  const name = new Uint8Array([...new TextEncoder().encode(`${P}a`), 0xff, 0x2e, 0x67, 0x6f]);
  assertRule(
    () => check([{ name }]),
    "invalid-utf8",
    `${M}@${V}: zip entry "a\ufffd.go": path is not valid UTF-8 (rule invalid-utf8)`,
  );
  const inPrefix = new Uint8Array([0xff, ...new TextEncoder().encode(`${P}a.go`)]);
  assert.throws(() => check([{ name: inPrefix }]), /rule path-prefix/);
});

Deno.test("zip rules: prefix_only", () => {
  assertRule(
    () => check([`${M}@${V}`, `${P}go.mod`]),
    "path-prefix",
    `${M}@${V}: zip entry "${M}@${V}": path does not have prefix "${P}" (rule path-prefix)`,
  );
});

Deno.test("zip rules: names outside the prefix", () => {
  for (const name of ["example.com/other@v1.0.0/a.go", `${M}@v1.0.1/a.go`, "a.go", "/etc/passwd"]) {
    assert.throws(() => check([`${P}ok.go`, name]), /rule path-prefix\)$/, name);
  }
  assert.throws(() => check([`EXAMPLE.COM/m@${V}/a.go`]), /rule path-prefix/);
});

Deno.test("zip rules: the bare prefix entry is kept as the root directory", () => {
  assert.deepEqual(planned(check([P, `${P}a.go`])), [["", true], ["a.go", false]]);
});

Deno.test("zip rules: path traversal is not clean", () => {
  for (const rel of ["a/../../evil.go", "a/../b.go", "./a.go", "a//b.go", "a/./b"]) {
    assertRule(
      () => check([`${P}${rel}`]),
      "unclean-path",
      `${M}@${V}: zip entry ${JSON.stringify(rel)}: path is not clean (rule unclean-path)`,
    );
  }
  // Leading ".." elements are clean (path.Clean keeps them) but not valid file paths.
  assertRule(
    () => check([`${P}../evil.go`]),
    "invalid-file-path",
    `${M}@${V}: zip entry "../evil.go": malformed file path "../evil.go": ` +
      'invalid path element ".." (rule invalid-file-path)',
  );
  assert.throws(() => check([`${P}../`]), /zip entry "..": .*\(rule invalid-file-path\)$/);
  assert.throws(() => check([`${P}/`]), /zip entry "": path is not clean/);
});

Deno.test("zip rules: absolute paths after the prefix are invalid", () => {
  assertRule(
    () => check([`${P}/etc/passwd`]),
    "invalid-file-path",
    `${M}@${V}: zip entry "/etc/passwd": malformed file path "/etc/passwd": empty path element ` +
      "(rule invalid-file-path)",
  );
});

Deno.test("zip rules: backslashes, Windows names and control characters are invalid", () => {
  for (
    const rel of [
      "a\\b.go",
      "..\\..\\evil.go",
      "C:/x.go",
      "aux.go",
      "dir/CON",
      "lpt1.txt/x",
      "a\nb.go",
      "a\rb.go",
      "a\u0000b",
      "a\tb",
      "a*b",
      "trailing./x",
    ]
  ) {
    assert.throws(
      () => check([`${P}${rel}`]),
      (e: unknown) => e instanceof ZipRuleError && e.rule === "invalid-file-path",
      JSON.stringify(rel),
    );
  }
  assert.deepEqual(planned(check([`${P}.github/ci.yml`, `${P}-dash`, `${P}caf\u00e9 ok.go`])), [
    [".github/ci.yml", false],
    ["-dash", false],
    ["caf\u00e9 ok.go", false],
  ]);
});

Deno.test("zip rules: symlink entries are rejected (goprefetch's own rule)", () => {
  const link = { name: `${P}link`, data: "/etc/passwd", externalAttributes: 0o120777 << 16 };
  assertRule(
    () => check([link]),
    "symlink",
    `${M}@${V}: zip entry "link": entry is a symbolic link (rule symlink)`,
  );
  assert.throws(() => check([{ ...link, creatorVersion: (19 << 8) | 20 }]), /rule symlink/);
  // The mode only counts when the creator is Unix or macOS (here: MS-DOS).
  assert.deepEqual(planned(check([{ ...link, creatorVersion: 20 }])), [["link", false]]);
  assert.deepEqual(planned(check([{ ...link, name: `${P}dir/` }])), [["dir", true]]);
});

Deno.test("zip rules: zip file size limit", () => {
  assert.deepEqual(checkZipEntries(M, V, MAX_ZIP_FILE, entries([])), []);
  assertRule(
    () => checkZipEntries(M, V, MAX_ZIP_FILE + 1, entries([])),
    "zip-too-large",
    `${M}@${V}: module zip file is too large (524288001 bytes; limit is 524288000 bytes) ` +
      "(rule zip-too-large)",
  );
});

Deno.test("zip rules: declared size limits (TestUnzipSizeLimits)", () => {
  const sized = (name: string, uncompressedSize: number): RawEntry => ({
    name: `${P}${name}`,
    uncompressedSize,
  });
  const total = `${M}@${V}: total uncompressed size of module contents too large ` +
    `(max size is ${MAX_ZIP_FILE} bytes) (rule size-limit)`;
  // one_large, one_too_large, total_large, total_too_large
  assert.equal(check([sized("a", MAX_ZIP_FILE)]).length, 1);
  assertRule(() => check([sized("a", MAX_ZIP_FILE + 1)]), "size-limit", total);
  assert.equal(check([sized("a", MAX_ZIP_FILE / 2), sized("b", MAX_ZIP_FILE / 2)]).length, 2);
  assertRule(
    () => check([sized("a", MAX_ZIP_FILE / 2), sized("b", MAX_ZIP_FILE / 2 + 1)]),
    "size-limit",
    total,
  );
  // large_gomod, too_large_gomod, large_license, too_large_license
  assert.equal(check([sized("go.mod", MAX_GO_MOD)]).length, 1);
  assertRule(
    () => check([sized("go.mod", MAX_GO_MOD + 1)]),
    "size-limit",
    `${M}@${V}: zip entry "go.mod": go.mod file too large (max size is ${MAX_GO_MOD} bytes) ` +
      "(rule size-limit)",
  );
  assert.equal(check([sized("LICENSE", MAX_LICENSE)]).length, 1);
  assertRule(
    () => check([sized("LICENSE", MAX_LICENSE + 1)]),
    "size-limit",
    `${M}@${V}: zip entry "LICENSE": LICENSE file too large (max size is ${MAX_LICENSE} bytes) ` +
      "(rule size-limit)",
  );
  // Only the root go.mod and LICENSE are limited.
  assert.equal(check([sized("sub/LICENSE", MAX_LICENSE + 1)]).length, 1);
  // Directory entries do not count.
  assert.equal(check([sized("a", MAX_ZIP_FILE), sized("d/", 10)]).length, 2);
});

Deno.test("zip rules: a total-size error takes precedence, as in Go", () => {
  const big = { name: `${P}big`, uncompressedSize: MAX_ZIP_FILE + 1 };
  assert.throws(() => check([`${P}bad'`, big]), /total uncompressed size.*\(rule size-limit\)$/);
});

Deno.test("zip rules: the first broken rule in directory order is reported", () => {
  assert.throws(
    () => check([`${P}a.go`, `${P}b/../c`, `${P}a.go`, "elsewhere"]),
    /zip entry "b\/..\/c": path is not clean/,
  );
});

Deno.test("zip rules: checks 5000 entries quickly", () => {
  const files: RawEntry[] = [{ name: `${P}go.mod`, data: `module ${M}\n` }];
  for (let i = 0; i < 5000; i++) files.push({ name: `${P}pkg${i % 50}/sub${i % 7}/file${i}.go` });
  const list = readCentralDirectory(bytesSource(rawZip(files)));
  const start = performance.now();
  assert.equal(checkZipEntries(M, V, 1000, list).length, 5001);
  assert.ok(performance.now() - start < 1000);
});
