import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  EMPTY_GO_MOD_HASH,
  hash1,
  hashDir,
  hashGoMod,
  hashZipFile,
  sha256Hex,
} from "../../src/zip/dirhash.ts";
import { tempDir } from "../support/go.ts";
import { rawZip } from "../support/raw_zip.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("hashGoMod matches the empty go.mod constant", () => {
  assert.equal(hashGoMod(new Uint8Array()), EMPTY_GO_MOD_HASH);
});

Deno.test("hashGoMod matches rsc.io/quote v1.5.2's go.sum line", () => {
  const mod = 'module "rsc.io/quote"\n\nrequire "rsc.io/sampler" v1.3.0\n';
  assert.equal(hashGoMod(text(mod)), "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=");
});

Deno.test("hash1 of no files is the empty-zip hash", () => {
  assert.equal(hash1([]), "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
});

Deno.test("hash1 sorts names by UTF-8 bytes, not by UTF-16 code units", () => {
  // UTF-16 puts U+1F600 (a surrogate pair, 0xD83D...) before U+FF01; UTF-8 puts it after.
  const a = { name: "m@v1.0.0/\u{ff01}", sha256: sha256Hex(text("a")) };
  const b = { name: "m@v1.0.0/\u{1f600}", sha256: sha256Hex(text("b")) };
  assert.ok(b.name < a.name);
  const lines = `${a.sha256}  ${a.name}\n${b.sha256}  ${b.name}\n`;
  const expected = "h1:" + Uint8Array.fromHex(sha256Hex(text(lines))).toBase64();
  assert.equal(hash1([b, a]), expected);
  assert.equal(hash1([a, b]), expected);
});

Deno.test("hash1 refuses a name with a newline", () => {
  assert.throws(() => hash1([{ name: "a\nb", sha256: sha256Hex(new Uint8Array()) }]), /newline/);
});

/**
 * Two of x/mod's `zip/testdata/unzip` cases (at golang/mod fe2ec04f), file by file as their
 * txtar archives hold them, with the h1 `TestUnzip` expects of the extracted tree.
 */
const X_MOD_VECTORS: { name: string; files: Record<string, string>; h1: string }[] = [
  {
    name: "simple.txt",
    files: {
      "example.com/m@v1.0.0/go.mod": "module example.com/m\n\ngo 1.13\n",
      "example.com/m@v1.0.0/m.go": "package m\n\nfunc Foo() int { return 42 }\n",
      "example.com/m@v1.0.0/cmd/hello/hello.go": "package main\n\nimport (\n" +
        '  "fmt"\n  "example.com/m"\n)\n\nfunc main() {\n  fmt.Println(m.Foo())\n}\n',
    },
    h1: "h1:tpqYOOmuilagXzyqoJ3roUjp8gneQeTv5YVpL6BG7/k=",
  },
  {
    name: "go_mod_dir.txt",
    files: { "example.com/m@v1.0.0/go.mod/a.go": "package a\n" },
    h1: "h1:Mun5l9cBlDnnV6JasTpio2aZJSbFj++h+814mnKC/OM=",
  },
];

for (const vector of X_MOD_VECTORS) {
  Deno.test(`hash1, hashZipFile and hashDir match x/mod's unzip/${vector.name}`, async () => {
    const files = Object.entries(vector.files);
    assert.equal(
      hash1(files.map(([name, data]) => ({ name, sha256: sha256Hex(text(data)) }))),
      vector.h1,
    );
    const tmp = await tempDir("goprefetch-dirhash-");
    try {
      const zip = join(tmp, "m.zip");
      await Deno.writeFile(zip, rawZip(files.map(([name, data]) => ({ name, data }))));
      assert.equal(hashZipFile(zip), vector.h1);
      const prefix = "example.com/m@v1.0.0";
      for (const [name, data] of files) {
        const file = join(tmp, "tree", name.slice(prefix.length + 1));
        await Deno.mkdir(dirname(file), { recursive: true });
        await Deno.writeTextFile(file, data);
      }
      assert.equal(hashDir(join(tmp, "tree"), prefix), vector.h1);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}
