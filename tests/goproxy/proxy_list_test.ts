import assert from "node:assert/strict";
import {
  parseProxyList,
  ProxyListError,
  redactUrl,
  tryProxies,
} from "../../src/goproxy/proxy_list.ts";

const url = (u: string, fallBackOnError = false) => ({ kind: "url", url: u, fallBackOnError });
const DIRECT = { kind: "direct", fallBackOnError: false };
const OFF = { kind: "off", fallBackOnError: false };
const NOPROXY = { kind: "noproxy", fallBackOnError: false };

Deno.test("parseProxyList: the separator after an entry sets fallBackOnError", () => {
  assert.deepEqual(
    parseProxyList("https://a.example,https://b.example|https://c.example|direct", ""),
    [
      url("https://a.example"),
      url("https://b.example", true),
      url("https://c.example", true),
      DIRECT,
    ],
  );
  assert.deepEqual(parseProxyList("https://a.example|", ""), [url("https://a.example", true)]);
});

Deno.test("parseProxyList: off and direct end the list", () => {
  assert.deepEqual(parseProxyList("https://a.example,off,https://b.example", ""), [
    url("https://a.example"),
    OFF,
  ]);
  assert.deepEqual(parseProxyList("direct|https://b.example", ""), [DIRECT]);
  assert.deepEqual(parseProxyList("off", ""), [OFF]);
  assert.deepEqual(parseProxyList("direct,/not/checked", ""), [DIRECT]);
});

Deno.test("parseProxyList: noproxy comes first when GONOPROXY is set", () => {
  assert.deepEqual(parseProxyList("https://a.example,direct", "corp.example"), [
    NOPROXY,
    url("https://a.example"),
    DIRECT,
  ]);
  assert.deepEqual(parseProxyList("off", "corp.example"), [NOPROXY, OFF]);
  assert.deepEqual(parseProxyList("direct", "corp.example"), [DIRECT]);
  assert.deepEqual(parseProxyList(" direct", "corp.example"), [NOPROXY, DIRECT]);
});

Deno.test("parseProxyList: bare hosts get https://", () => {
  assert.deepEqual(parseProxyList("127.0.0.1:1", ""), [url("https://127.0.0.1:1")]);
  assert.deepEqual(parseProxyList("proxy.example/go/", ""), [url("https://proxy.example/go")]);
  assert.deepEqual(parseProxyList("localhost:3000", ""), [url("https://localhost:3000")]);
  assert.deepEqual(parseProxyList("http://localhost:3000/", ""), [url("http://localhost:3000")]);
});

Deno.test("parseProxyList: a path or a single word has no scheme", () => {
  for (const entry of ["/srv/proxy", "foo", "noproxy"]) {
    assert.throws(() => parseProxyList(entry, ""), {
      name: "ProxyListError",
      message: `invalid proxy URL missing scheme: ${JSON.stringify(entry)}`,
    });
  }
});

Deno.test("parseProxyList: unsupported schemes and malformed http URLs", () => {
  assert.throws(() => parseProxyList("ftp://a.example", ""), {
    message: 'invalid proxy URL scheme (must be https, http, file): "ftp://a.example"',
  });
  for (
    const entry of [
      "https://",
      "https:///path",
      "http:/a.example",
      "https://a.example?x=1",
      "https://a.example/#top",
      "https://a.example:port",
      "https://a b.example",
      "C:\\proxy",
      "file:srv",
    ]
  ) {
    assert.throws(() => parseProxyList(entry, ""), ProxyListError, entry);
  }
  assert.throws(() => parseProxyList("https://a.ex\tample", ""), /control character/);
});

Deno.test("parseProxyList: empty entries are skipped and entries trimmed", () => {
  assert.deepEqual(parseProxyList(" , https://a.example ,, | direct ", ""), [
    url("https://a.example"),
    DIRECT,
  ]);
});

Deno.test("parseProxyList: file:// URLs hold only an absolute path", () => {
  assert.deepEqual(parseProxyList("file:///srv/proxy", ""), [url("file:///srv/proxy")]);
  assert.deepEqual(parseProxyList("file:///srv/my%20proxy/|direct", ""), [
    url("file:///srv/my%20proxy", true),
    DIRECT,
  ]);
  assert.deepEqual(parseProxyList("FILE:///C:/proxy", ""), [url("FILE:///C:/proxy")]);
  for (
    const entry of [
      "file://host/srv",
      "file://user@/srv",
      "file:/srv",
      "file://",
      "file:///srv?x",
      "file:///srv?",
      "file:///srv#f",
    ]
  ) {
    assert.throws(() => parseProxyList(entry, ""), {
      message: `invalid file:// proxy URL with non-path elements: ${
        JSON.stringify(redactUrl(entry))
      } (want file:///absolute/path)`,
    });
  }
});

Deno.test("parseProxyList: an empty list is an error with a hint", () => {
  const hint = 'set GOPROXY (for example with "go env -w GOPROXY=...") or pass --proxy URL';
  assert.throws(() => parseProxyList("", ""), {
    message: `GOPROXY is empty (is $GOROOT/go.env missing?); ${hint}`,
  });
  for (const [goproxy, gonoproxy] of [[",", ""], [" | ", ""], [",", "corp.example"]]) {
    assert.throws(() => parseProxyList(goproxy, gonoproxy), {
      message: `GOPROXY list is not the empty string, but contains no entries; ${hint}`,
    });
  }
});

Deno.test("parseProxyList: credentials stay in the URL but not in errors", () => {
  assert.deepEqual(parseProxyList("https://u:p@proxy.example", ""), [
    url("https://u:p@proxy.example"),
  ]);
  assert.throws(() => parseProxyList("ftp://u:secret@a.example", ""), (err: Error) => {
    assert.ok(!err.message.includes("secret"));
    assert.ok(err.message.includes('"ftp://a.example"'));
    return true;
  });
});

Deno.test("redactUrl: removes user info only", () => {
  assert.equal(redactUrl("https://user:secret@proxy.example/go"), "https://proxy.example/go");
  assert.equal(redactUrl("https://token@proxy.example"), "https://proxy.example");
  assert.equal(redactUrl("https://a@b:c@proxy.example:8443/x"), "https://proxy.example:8443/x");
  assert.equal(redactUrl("https://proxy.example/a@b"), "https://proxy.example/a@b");
  assert.equal(redactUrl("https://proxy.example?q=a@b"), "https://proxy.example?q=a@b");
  assert.equal(redactUrl("file:///srv/proxy"), "file:///srv/proxy");
  assert.equal(redactUrl("/srv/u:p@x"), "/srv/u:p@x");
});

/** A walk over `list` where each URL entry answers as `answers` says: "ok", "404" or "500". */
async function walk(list: string, answers: Record<string, string>): Promise<string> {
  const tried: string[] = [];
  try {
    const got = await tryProxies(parseProxyList(list, ""), (entry) => {
      const name = entry.kind === "url" ? new URL(entry.url).hostname : entry.kind;
      tried.push(name);
      const answer = answers[name] ?? "404";
      if (answer === "ok") return Promise.resolve(`ok from ${name}`);
      if (answer === "fatal") throw new Error(`fatal at ${name}`);
      throw new Error(`${answer} at ${name}`);
    }, {
      notFound: (e) => (e as Error).message.startsWith("404"),
      fatal: (e) => (e as Error).message.startsWith("fatal"),
    });
    return `${got} (tried ${tried.join(" ")})`;
  } catch (e) {
    return `${(e as Error | undefined)?.message} (tried ${tried.join(" ")})`;
  }
}

Deno.test("tryProxies walks the list as go's TryProxies does", async () => {
  const cases: [string, Record<string, string>, string][] = [
    ["https://a,https://b", { a: "ok" }, "ok from a (tried a)"],
    ["https://a,https://b", { b: "ok" }, "ok from b (tried a b)"],
    ["https://a,https://b", { a: "500", b: "ok" }, "500 at a (tried a)"],
    ["https://a|https://b", { a: "500", b: "ok" }, "ok from b (tried a b)"],
    ["https://a|https://b", { a: "500", b: "404" }, "500 at a (tried a b)"],
    ["https://a|https://b", { a: "500", b: "500" }, "500 at b (tried a b)"],
    ["https://a,https://b", {}, "404 at b (tried a b)"],
    ["https://a,direct", { direct: "404" }, "404 at direct (tried a direct)"],
    ["https://a|direct", { a: "500", direct: "404" }, "404 at direct (tried a direct)"],
    ["https://a|https://b", { a: "fatal", b: "ok" }, "fatal at a (tried a)"],
  ];
  for (const [list, answers, want] of cases) {
    assert.equal(await walk(list, answers), want, `${list} ${JSON.stringify(answers)}`);
  }
});
