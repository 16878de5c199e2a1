import assert from "node:assert/strict";
import {
  canonicalVersion,
  compareSemver,
  isPseudoVersion,
  isValidSemver,
  semverBuild,
  semverMajor,
  sortVersions,
} from "../../src/module/semver.ts";

// Ported from golang.org/x/mod semver/semver_test.go: input and canonical form ("" = invalid),
// listed in increasing order.
const VERSIONS: [string, string][] = [
  ["bad", ""],
  ["v1-alpha.beta.gamma", ""],
  ["v1-pre", ""],
  ["v1+meta", ""],
  ["v1-pre+meta", ""],
  ["v1.2-pre", ""],
  ["v1.2+meta", ""],
  ["v1.2-pre+meta", ""],
  ["v1.0.0-alpha", "v1.0.0-alpha"],
  ["v1.0.0-alpha.1", "v1.0.0-alpha.1"],
  ["v1.0.0-alpha.beta", "v1.0.0-alpha.beta"],
  ["v1.0.0-beta", "v1.0.0-beta"],
  ["v1.0.0-beta.2", "v1.0.0-beta.2"],
  ["v1.0.0-beta.11", "v1.0.0-beta.11"],
  ["v1.0.0-rc.1", "v1.0.0-rc.1"],
  ["v1", "v1.0.0"],
  ["v1.0", "v1.0.0"],
  ["v1.0.0", "v1.0.0"],
  ["v1.2", "v1.2.0"],
  ["v1.2.0", "v1.2.0"],
  ["v1.2.3-456", "v1.2.3-456"],
  ["v1.2.3-456.789", "v1.2.3-456.789"],
  ["v1.2.3-456-789", "v1.2.3-456-789"],
  ["v1.2.3-456a", "v1.2.3-456a"],
  ["v1.2.3-pre", "v1.2.3-pre"],
  ["v1.2.3-pre+meta", "v1.2.3-pre"],
  ["v1.2.3-pre.1", "v1.2.3-pre.1"],
  ["v1.2.3-zzz", "v1.2.3-zzz"],
  ["v1.2.3", "v1.2.3"],
  ["v1.2.3+meta", "v1.2.3"],
  ["v1.2.3+meta-pre", "v1.2.3"],
  ["v1.2.3+meta-pre.sha.256a", "v1.2.3"],
];

Deno.test("isValidSemver agrees with the x/mod table", () => {
  for (const [input, canonical] of VERSIONS) {
    assert.equal(isValidSemver(input), canonical !== "", input);
  }
});

Deno.test("isValidSemver rejects malformed numbers and identifiers", () => {
  for (
    const v of [
      "",
      "v",
      "1.2.3",
      "V1.2.3",
      "v01.2.3",
      "v1.02.3",
      "v1.2.03",
      "v1.2.3.4",
      "v1.2.3-",
      "v1.2.3-01",
      "v1.2.3-a..b",
      "v1.2.3-a.",
      "v1.2.3+",
      "v1.2.3+a..b",
      "v1.2.3-a_b",
      "v1.2.3+a+b",
      "v1.",
      "v1.2.",
      " v1.2.3",
    ]
  ) {
    assert.equal(isValidSemver(v), false, v);
  }
  for (const v of ["v0", "v0.0.0", "v1.2.3-0", "v1.2.3-0a", "v1.2.3+01", "v1.2.3-x-y.z"]) {
    assert.equal(isValidSemver(v), true, v);
  }
});

Deno.test("canonicalVersion matches semver.Canonical and keeps +incompatible", () => {
  for (const [input, canonical] of VERSIONS) {
    assert.equal(canonicalVersion(input), canonical, input);
  }
  assert.equal(canonicalVersion("v2.0.0+incompatible"), "v2.0.0+incompatible");
  assert.equal(canonicalVersion("v2.3.0-pre+incompatible"), "v2.3.0-pre+incompatible");
  assert.equal(canonicalVersion("v2.0.0+incompatible.1"), "v2.0.0");
  assert.equal(canonicalVersion("v2+incompatible"), "");
});

Deno.test("semverMajor and semverBuild agree with the x/mod table", () => {
  for (const [input, canonical] of VERSIONS) {
    const dot = canonical.indexOf(".");
    assert.equal(semverMajor(input), dot < 0 ? "" : canonical.slice(0, dot), input);
    const plus = input.indexOf("+");
    assert.equal(semverBuild(input), canonical === "" || plus < 0 ? "" : input.slice(plus), input);
  }
  assert.equal(semverMajor("v17.0.0+incompatible"), "v17");
  assert.equal(semverBuild("v17.0.0+incompatible"), "+incompatible");
});

Deno.test("compareSemver orders every pair of the x/mod table", () => {
  VERSIONS.forEach(([vi, ci], i) => {
    VERSIONS.forEach(([vj, cj], j) => {
      const want = ci === cj ? 0 : i < j ? -1 : 1;
      assert.equal(compareSemver(vi, vj), want, `${vi} vs ${vj}`);
    });
  });
});

Deno.test("compareSemver compares numbers numerically", () => {
  const cases: [string, string, number][] = [
    ["v1", "v1", 0],
    ["v2", "v1", 1],
    ["v1", "v2", -1],
    ["v1.19", "v1.2", 1],
    ["v1.10.0", "v1.9.0", 1],
    ["v10.0.0", "v9.9.9", 1],
    ["v0.0.0", "v0", 0],
    ["v1.2.3+a", "v1.2.3+b", 0],
    ["v1.0.0-beta.11", "v1.0.0-beta.2", 1],
    ["v1.0.0-10", "v1.0.0-9", 1],
    ["v1.0.0-1", "v1.0.0-a", -1],
    ["v1.0.0-alpha", "v1.0.0-alpha.0", -1],
    ["v1.0.0-a-b", "v1.0.0-a", 1],
    ["v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4-rc1", -1],
    ["v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", 1],
    ["x", "y", 0],
    ["x", "v0.0.0", -1],
    ["v0.0.0", "", 1],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(compareSemver(a, b), want, `${a} vs ${b}`);
  }
});

Deno.test("sortVersions matches the x/mod golden order and copies its input", () => {
  const golden = [
    "bad",
    "v1+meta",
    "v1-alpha.beta.gamma",
    "v1-pre",
    "v1-pre+meta",
    "v1.2+meta",
    "v1.2-pre",
    "v1.2-pre+meta",
    "v1.0.0-alpha",
    "v1.0.0-alpha.1",
    "v1.0.0-alpha.beta",
    "v1.0.0-beta",
    "v1.0.0-beta.2",
    "v1.0.0-beta.11",
    "v1.0.0-rc.1",
    "v1",
    "v1.0",
    "v1.0.0",
    "v1.2",
    "v1.2.0",
    "v1.2.3-456",
    "v1.2.3-456.789",
    "v1.2.3-456-789",
    "v1.2.3-456a",
    "v1.2.3-pre",
    "v1.2.3-pre+meta",
    "v1.2.3-pre.1",
    "v1.2.3-zzz",
    "v1.2.3",
    "v1.2.3+meta",
    "v1.2.3+meta-pre",
    "v1.2.3+meta-pre.sha.256a",
  ];
  for (let round = 0; round < 20; round++) {
    const shuffled = golden.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const before = shuffled.slice();
    assert.deepEqual(sortVersions(shuffled), golden);
    assert.deepEqual(shuffled, before);
  }
});

// From golang.org/x/mod module/pseudo_test.go: each pseudo-version and the tag it derives from.
const PSEUDO: [string, string][] = [
  ["v0.0.0-20060102150405-hash", ""],
  ["v1.0.0-20060102150405-hash", ""],
  ["v2.0.0-20060102150405-hash", ""],
  ["v0.0.1-0.20060102150405-hash", "v0.0.0"],
  ["v1.2.4-0.20060102150405-hash", "v1.2.3"],
  ["v1.2.100000000000000000-0.20060102150405-hash", "v1.2.99999999999999999"],
  ["v1.2.3-pre.0.20060102150405-hash", "v1.2.3-pre"],
  ["v1.3.0-pre.0.20060102150405-hash", "v1.3.0-pre"],
  ["v0.0.0--.0.20060102150405-hash", "v0.0.0--"],
  ["v1.0.1-0.20060102150405-hash+metadata", "v1.0.0+metadata"],
  ["v2.0.1-0.20060102150405-hash+incompatible", "v2.0.0+incompatible"],
  ["v2.3.0-pre.0.20060102150405-hash+incompatible", "v2.3.0-pre+incompatible"],
];

Deno.test("isPseudoVersion accepts pseudo-versions and rejects their base tags", () => {
  for (const [pseudo, older] of PSEUDO) {
    assert.equal(isPseudoVersion(pseudo), true, pseudo);
    assert.equal(isPseudoVersion(older), false, older);
  }
  for (
    const v of [
      "v0.0.0-2006010215040-hash",
      "v0.0.0-200601021504050-hash",
      "v0.0.0-20060102150405-",
      "v0.0.0-20060102150405-ha_sh",
      "v1.2.3-20060102150405-hash",
      "v1.2.4-1.20060102150405-hash",
      "0.0.0-20060102150405-hash",
      "v0.0.0-20060102150405",
      "---",
    ]
  ) {
    assert.equal(isPseudoVersion(v), false, v);
  }
});
