/**
 * The user documentation holds together: every relative link in README.md and docs/*.md points
 * to a file that exists, and to a heading that exists in it; the JSR package (which shows the
 * README) includes every file the README links to; and the library reference that
 * `deno doc mod.ts` shows has examples that import from the package and type-check, and links
 * only to symbols the package exports.
 */
import assert from "node:assert/strict";
import { dirname, join, matchesGlob, relative, resolve } from "node:path";
import config from "../deno.json" with { type: "json" };

const ROOT = join(import.meta.dirname!, "..");

async function markdownFiles(): Promise<string[]> {
  const files = [join(ROOT, "README.md"), join(ROOT, "CONTRIBUTING.md")];
  for await (const entry of Deno.readDir(join(ROOT, "docs"))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(join(ROOT, "docs", entry.name));
  }
  return files.sort();
}

/** Markdown without its fenced code blocks and code spans, where a link is not a link. */
function prose(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to `-`. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const m of text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** Relative link targets in `text` (inline links only: the docs use no reference links). */
function relativeLinks(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

Deno.test("docs: every relative link in README.md and docs/ reaches a file and a heading", async () => {
  const files = await markdownFiles();
  assert.ok(files.length > 5, "docs/ has the topic files");
  const problems: string[] = [];
  let links = 0;
  for (const file of files) {
    for (const target of relativeLinks(await Deno.readTextFile(file))) {
      links++;
      const [path, anchor] = target.split("#");
      const to = path === "" ? file : resolve(dirname(file), path);
      const where = `${relative(ROOT, file)}: ${target}`;
      let text: string;
      try {
        text = await Deno.readTextFile(to);
      } catch {
        problems.push(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && !anchors(text).has(anchor)) {
        problems.push(`${where}: no such heading in ${relative(ROOT, to)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(links > 20, `only ${links} links checked`);
});

Deno.test("docs: every docs/ file is linked from the README, and published with it", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const linked = new Set(relativeLinks(readme).map((t) => t.split("#")[0]));
  for (const file of await markdownFiles()) {
    const path = relative(ROOT, file);
    if (path !== "README.md") assert.ok(linked.has(path), `the README does not link to ${path}`);
  }
  for (const path of linked) {
    if (path === "") continue;
    assert.ok(
      config.publish.include.some((glob) => matchesGlob(path, glob)),
      `the README (shown on JSR) links to ${path}, which deno.json's publish.include leaves out`,
    );
  }
});

interface DocNode {
  name?: string;
  doc?: string;
  [key: string]: unknown;
}

/** Every JSDoc text in `deno doc --json` output, with where it is from. */
function docTexts(node: unknown, path: string, out: [string, string][]): void {
  if (Array.isArray(node)) node.forEach((n, i) => docTexts(n, `${path}[${i}]`, out));
  else if (node && typeof node === "object") {
    const { name, doc } = node as DocNode;
    const here = typeof name === "string" ? `${path} ${name}` : path;
    if (typeof doc === "string") out.push([here, doc]);
    for (const [key, value] of Object.entries(node)) {
      if (key !== "doc") docTexts(value, here, out);
    }
  }
}

Deno.test("docs: the library reference's examples import from the package, and its links resolve", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const mod = json.nodes[Object.keys(json.nodes).find((f) => f.endsWith("/mod.ts"))!];
  const exported = new Set<string>(mod.symbols.map((s: DocNode) => s.name));
  const texts: [string, string][] = [];
  docTexts(mod, "mod.ts", texts);
  const problems: string[] = [];
  let examples = 0;
  for (const [where, doc] of texts) {
    for (const block of doc.matchAll(/```ts\n([\s\S]*?)```/g)) {
      examples++;
      for (const m of block[1].matchAll(/\bfrom\s+"([^"]+)"/g)) {
        if (m[1] !== "jsr:@goprefetch/cli") problems.push(`${where}: imports ${m[1]}`);
      }
    }
    for (const m of doc.matchAll(/\{@link(?:code|plain)?\s+([\w.]+)/g)) {
      if (!exported.has(m[1].split(".")[0])) problems.push(`${where}: links to ${m[1]}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(examples >= 10, `only ${examples} examples found`);

  // The files that declare what mod.ts exports: their examples must type-check.
  const files = new Set<string>(
    mod.symbols.flatMap((s: { declarations: { location: { filename: string } }[] }) =>
      s.declarations.map((d) => new URL(d.location.filename).pathname)
    ),
  );
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--doc", "mod.ts", ...files],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
});

Deno.test("docs: every option of --help is in the README's options table", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "--help"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  const help = new TextDecoder().decode(out.stdout);
  const options = [...help.matchAll(/^ {2}(?:(-\w), )? {0,4}(--[\w-]+)/gm)]
    .flatMap((m) => m[1] ? [m[1], m[2]] : [m[2]]);
  assert.ok(options.length >= 13, `only ${options.length} options in --help`);
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const table = new Set(
    [...readme.matchAll(/^\| (`.*?`) +\|/gm)].flatMap((m) =>
      [...m[1].matchAll(/`(-[\w-]+)/g)].map((o) => o[1])
    ),
  );
  assert.deepEqual(options.filter((o) => !table.has(o)), [], "options missing from the README");
  assert.deepEqual([...table].filter((o) => !options.includes(o)), [], "options not in --help");
});
