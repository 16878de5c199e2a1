import assert from "node:assert/strict";
import type { CacheState } from "../../src/cache/module_cache.ts";
import { type ModulePlan, planModule } from "../../src/engine/plan.ts";
import type { ModuleSums } from "../../src/project/gosum.ts";
import { hashGoMod } from "../../src/zip/dirhash.ts";

const GO_MOD = new TextEncoder().encode("module example.com/m\n");
const OTHER_GO_MOD = new TextEncoder().encode("module example.com/other\n");
const ZIP_H1 = `h1:${"z".repeat(43)}=`;
const OTHER_H1 = `h1:${"o".repeat(43)}=`;

const zipModule: ModuleSums = {
  path: "example.com/m",
  version: "v1.0.0",
  zipHashes: [ZIP_H1],
  goModHashes: [hashGoMod(GO_MOD)],
};
const goModOnly: ModuleSums = { ...zipModule, zipHashes: [] };
const noGoModHash: ModuleSums = { ...zipModule, goModHashes: [] };

const empty: CacheState = { tree: false, hasZip: false, hasInfo: false };
const complete: CacheState = {
  tree: true,
  ziphash: ZIP_H1,
  hasZip: true,
  hasInfo: true,
  mod: GO_MOD,
};

const cases: [string, CacheState, ModuleSums, ModulePlan][] = [
  ["an empty cache needs everything", empty, zipModule, { files: ["info", "mod", "zip"] }],
  ["a go.mod-only module needs only its .mod", empty, goModOnly, { files: ["mod"] }],
  ["a complete module needs nothing", complete, zipModule, { files: [] }],
  ["a complete go.mod-only module needs nothing", { ...empty, mod: GO_MOD }, goModOnly, {
    files: [],
  }],
  ["a missing .info alone is fetched", { ...complete, hasInfo: false }, zipModule, {
    files: ["info"],
  }],
  ["a .mod go.sum does not match is fetched again", { ...complete, mod: OTHER_GO_MOD }, zipModule, {
    files: ["mod"],
  }],
  [
    "without a go.mod hash in go.sum, any cached .mod is kept",
    {
      ...complete,
      mod: OTHER_GO_MOD,
    },
    noGoModHash,
    { files: [] },
  ],
  ["a tree marked .partial (not a tree) needs its zip", { ...complete, tree: false }, zipModule, {
    files: ["zip"],
  }],
  ["a missing .ziphash needs the zip", { ...complete, ziphash: undefined }, zipModule, {
    files: ["zip"],
  }],
  [
    "a malformed .ziphash needs the zip (go rewrites it)",
    {
      ...complete,
      ziphash: "h1:short",
    },
    zipModule,
    { files: ["zip"] },
  ],
  [
    "a well-formed .ziphash go.sum does not list is refused",
    {
      ...complete,
      ziphash: OTHER_H1,
    },
    zipModule,
    { files: [], refusedZiphash: OTHER_H1 },
  ],
  [
    "a refused .ziphash still lists what else is missing",
    {
      ...complete,
      ziphash: OTHER_H1,
      hasInfo: false,
    },
    zipModule,
    { files: ["info"], refusedZiphash: OTHER_H1 },
  ],
  [
    "a go.mod-only module ignores a zip in the cache",
    { ...complete, ziphash: OTHER_H1 },
    goModOnly,
    {
      files: [],
    },
  ],
];

for (const [name, state, m, want] of cases) {
  Deno.test(`plan: ${name}`, () => {
    assert.deepEqual(planModule(state, m), want);
  });
}
