/**
 * netrc parsing with go's quirks, the file go reads, the go 1.24+ matching of `machine`
 * strings against request URLs, and GOAUTH.
 */
import assert from "node:assert/strict";
import {
  GoAuthError,
  netrcAuthorization,
  netrcPath,
  parseNetrc,
  proxyAuthorization,
} from "../../src/goproxy/netrc.ts";

const basic = (user: string, password: string) => "Basic " + btoa(`${user}:${password}`);

Deno.test("netrc: entries one per line or spread over lines, macdef skipped, default ends it", () => {
  const text = [
    "machine a.example login ua password pa",
    "machine b.example",
    "  login ub",
    "  password pb",
    "macdef init",
    "machine hidden.example login uh password ph",
    "",
    "machine incomplete.example login ui",
    "machine c.example login uc password pc port 443",
    "default",
    "machine after.example login ux password px",
  ].join("\n");
  assert.deepEqual(parseNetrc(text), [
    { machine: "a.example", login: "ua", password: "pa" },
    { machine: "b.example", login: "ub", password: "pb" },
    { machine: "c.example", login: "uc", password: "pc" },
  ]);
});

Deno.test("netrc: default followed by tokens on its line does not end parsing, as in go", () => {
  const text = "default login d password d\nmachine m.example login u password p\n";
  assert.deepEqual(parseNetrc(text).map((e) => e.machine), ["m.example"]);
});

Deno.test("netrc: NETRC wins, then ~/.netrc; on Windows ~/_netrc when it exists", () => {
  const none = () => false;
  assert.equal(netrcPath({ NETRC: "/x/n", HOME: "/h" }, "linux", none), "/x/n");
  assert.equal(netrcPath({ HOME: "/h" }, "linux", none), "/h/.netrc");
  assert.equal(netrcPath({}, "linux", none), undefined);
  const win = { UserProfile: "C:\\Users\\ci" };
  assert.equal(netrcPath(win, "windows", () => true), "C:\\Users\\ci\\_netrc");
  assert.equal(netrcPath(win, "windows", none), "C:\\Users\\ci\\.netrc");
});

Deno.test("netrc: go 1.24+ matching: host, host:port, path prefixes, https only, first wins", () => {
  const auth = netrcAuthorization(parseNetrc([
    "machine proxy.example login u1 password p1",
    "machine proxy.example login u2 password p2",
    "machine ports.example:8443 login u3 password p3",
    "machine https://paths.example/private/ login u4 password p4",
    "machine paths.example login u5 password p5",
  ].join("\n")));
  assert.equal(auth("https://proxy.example/go/example.com/m/@v/list"), basic("u1", "p1"));
  assert.equal(auth("https://proxy.example:8443/m/@v/list"), undefined);
  assert.equal(auth("https://ports.example:8443/m/@v/list"), basic("u3", "p3"));
  assert.equal(auth("https://ports.example/m/@v/list"), undefined);
  assert.equal(auth("https://paths.example/private/m/@v/list"), basic("u4", "p4"));
  assert.equal(auth("https://paths.example/public/m/@v/list"), basic("u5", "p5"));
  assert.equal(auth("http://proxy.example/m/@v/list"), undefined);
  assert.equal(auth("https://user:pw@proxy.example/m/@v/list"), undefined);
});

Deno.test("GOAUTH: netrc (the default) reads NETRC; off reads nothing; others warn without secrets", () => {
  const files: Record<string, string> = { "/n": "machine p.example login u password s3cret\n" };
  const inputs = {
    env: { NETRC: "/n", HOME: "/h" },
    os: "linux",
    readTextFile: (p: string) => files[p],
  };
  const netrc = proxyAuthorization({ ...inputs, goauth: "netrc" });
  assert.equal(netrc.authorization?.("https://p.example/x"), basic("u", "s3cret"));
  assert.deepEqual(netrc.warnings, []);
  assert.equal(proxyAuthorization({ ...inputs, goauth: "off" }).authorization, undefined);
  const mixed = proxyAuthorization({
    ...inputs,
    goauth: "git /src/repo; my-helper --token=abc;netrc",
  });
  assert.equal(mixed.authorization?.("https://p.example/x"), basic("u", "s3cret"));
  assert.equal(mixed.warnings.length, 2);
  assert.match(mixed.warnings[0], /GOAUTH method "git" is not supported/);
  assert.match(mixed.warnings[1], /GOAUTH method "my-helper" is not supported/);
  assert.ok(!mixed.warnings.join().includes("abc") && !mixed.warnings.join().includes("/src"));
  const missing = proxyAuthorization({ ...inputs, env: { HOME: "/h" }, goauth: "netrc" });
  assert.equal(missing.authorization, undefined);
  for (const bad of ["off;netrc", "netrc;;git /r"]) {
    assert.throws(() => proxyAuthorization({ ...inputs, goauth: bad }), GoAuthError, bad);
  }
});
