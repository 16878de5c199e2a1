import assert from "node:assert/strict";
import {
  findGoBinary,
  GoEnvError,
  type GoEnvInputs,
  parseEnvFile,
  parseGoFlags,
  resolveGoEnv,
  userEnvFilePath,
} from "../../src/project/go_env.ts";

const USER_FILE = "/home/u/.config/go/env";
const GO_ENV = "/goroot/go.env";

function inputs(
  env: Record<string, string | undefined>,
  files: Record<string, string> = {},
  extra: Partial<GoEnvInputs> = {},
): GoEnvInputs {
  return {
    env: { HOME: "/home/u", GOROOT: "/goroot", ...env },
    os: "linux",
    readTextFile: (path) => files[path],
    ...extra,
  };
}

Deno.test("resolveGoEnv: process env beats user file beats go.env beats default", () => {
  const files = {
    [USER_FILE]: "GOPROXY=https://user.example\nGOSUMDB=user-sumdb\n",
    [GO_ENV]: "GOPROXY=https://goroot.example\nGOSUMDB=goroot-sumdb\nGOTOOLCHAIN=auto\n",
  };
  const fromEnv = resolveGoEnv(inputs({ GOPROXY: "https://env.example" }, files));
  assert.equal(fromEnv.GOPROXY, "https://env.example");
  assert.equal(fromEnv.GOSUMDB, "user-sumdb");
  assert.equal(fromEnv.GOTOOLCHAIN, "auto");

  const fromUser = resolveGoEnv(inputs({}, files));
  assert.equal(fromUser.GOPROXY, "https://user.example");

  const fromGoroot = resolveGoEnv(inputs({}, { [GO_ENV]: files[GO_ENV] }));
  assert.equal(fromGoroot.GOPROXY, "https://goroot.example");
  assert.equal(fromGoroot.GOSUMDB, "goroot-sumdb");

  const defaults = resolveGoEnv(inputs({}));
  assert.equal(defaults.GOPROXY, "");
  assert.equal(defaults.GOSUMDB, "");
  assert.equal(defaults.GOAUTH, "netrc");
  assert.equal(defaults.GOTOOLCHAIN, "");
});

Deno.test("resolveGoEnv: an empty process variable does not override the files", () => {
  const files = { [USER_FILE]: "GOPROXY=https://user.example\n" };
  assert.equal(resolveGoEnv(inputs({ GOPROXY: "" }, files)).GOPROXY, "https://user.example");
});

Deno.test("resolveGoEnv: a key in the user file, even empty, hides go.env", () => {
  const files = {
    [USER_FILE]: "GOPROXY=\n",
    [GO_ENV]: "GOPROXY=https://goroot.example\nGOSUMDB=goroot-sumdb\nGOSUMDB=second\n",
  };
  const env = resolveGoEnv(inputs({}, files));
  assert.equal(env.GOPROXY, "");
  assert.equal(env.GOSUMDB, "goroot-sumdb");
});

Deno.test("resolveGoEnv: GOENV=off skips the user file but still reads go.env", () => {
  const files = {
    [USER_FILE]: "GOPROXY=https://user.example\n",
    [GO_ENV]: "GOPROXY=https://goroot.example\n",
  };
  const env = resolveGoEnv(inputs({ GOENV: "off" }, files));
  assert.equal(env.GOPROXY, "https://goroot.example");
  assert.equal(env.GOENV, "");
});

Deno.test("resolveGoEnv: GOENV names the user file", () => {
  const files = {
    "/etc/go/custom-env": "GOPROXY=https://custom.example\n",
    [USER_FILE]: "GOPROXY=https://user.example\n",
  };
  const env = resolveGoEnv(inputs({ GOENV: "/etc/go/custom-env" }, files));
  assert.equal(env.GOPROXY, "https://custom.example");
  assert.equal(env.GOENV, "/etc/go/custom-env");
  assert.equal(resolveGoEnv(inputs({}, files)).GOENV, USER_FILE);
});

Deno.test("resolveGoEnv: GOROOT in go.env is ignored", () => {
  const env = resolveGoEnv(inputs({}, { [GO_ENV]: "GOROOT=/elsewhere\n" }));
  assert.equal(env.GOROOT, "/goroot");
});

Deno.test("userEnvFilePath: per-OS user config directory", () => {
  assert.equal(userEnvFilePath({ HOME: "/home/u" }, "linux"), USER_FILE);
  assert.equal(
    userEnvFilePath({ HOME: "/home/u", XDG_CONFIG_HOME: "/xdg" }, "linux"),
    "/xdg/go/env",
  );
  assert.equal(userEnvFilePath({ HOME: "/home/u", XDG_CONFIG_HOME: "rel" }, "linux"), undefined);
  assert.equal(userEnvFilePath({}, "linux"), undefined);
  assert.equal(
    userEnvFilePath({ HOME: "/Users/u" }, "darwin"),
    "/Users/u/Library/Application Support/go/env",
  );
  assert.equal(
    userEnvFilePath({ APPDATA: "C:\\Users\\u\\AppData\\Roaming" }, "windows"),
    "C:\\Users\\u\\AppData\\Roaming\\go\\env",
  );
  assert.equal(userEnvFilePath({ GOENV: "off", HOME: "/home/u" }, "linux"), undefined);
  assert.equal(userEnvFilePath({ GOENV: "/x/env" }, "linux"), "/x/env");
});

Deno.test("parseEnvFile: go's readEnvFile rules", () => {
  const text = [
    "# GOPROXY=https://commented.example",
    "goproxy=lowercase",
    " GOSUMDB=leading-space",
    "NOEQUALS",
    "GOFLAGS=-mod=mod",
    "GOPRIVATE=a.example\r",
    "GONOSUMDB= spaced ",
    "GOINSECURE=first",
    "GOINSECURE=last",
    "",
  ].join("\n");
  assert.deepEqual(
    [...parseEnvFile(text)],
    [
      ["GOFLAGS", "-mod=mod"],
      ["GOPRIVATE", "a.example\r"],
      ["GONOSUMDB", " spaced "],
      ["GOINSECURE", "last"],
    ],
  );
});

Deno.test("parseGoFlags: quoted.Split fields", () => {
  assert.deepEqual(parseGoFlags("'-ldflags=-s -w' -modcacherw"), ["-ldflags=-s -w", "-modcacherw"]);
  assert.deepEqual(parseGoFlags(' \t"-tags=a b"\n\r-x '), ["-tags=a b", "-x"]);
  assert.deepEqual(parseGoFlags('-x="a'), ['-x="a']);
  assert.deepEqual(parseGoFlags(""), []);
});

Deno.test("parseGoFlags: unterminated quotes and non-flags are errors", () => {
  assert.throws(() => parseGoFlags("'-ldflags=-s -w"), {
    name: "GoEnvError",
    message: "parsing $GOFLAGS: unterminated ' string",
  });
  assert.throws(() => parseGoFlags('-x "-y'), {
    message: 'parsing $GOFLAGS: unterminated " string',
  });
  for (const field of ["mod=mod", "-", "--", "---x", "-=x", "--=x"]) {
    assert.throws(() => parseGoFlags(`-x ${field}`), {
      message: `parsing $GOFLAGS: non-flag ${JSON.stringify(field)}`,
    });
  }
  assert.deepEqual(parseGoFlags("-ldflags=-s -w"), ["-ldflags=-s", "-w"]);
});

Deno.test("resolveGoEnv: -modcacherw and -mod from GOFLAGS", () => {
  const flags = (GOFLAGS: string) => {
    const env = resolveGoEnv(inputs({ GOFLAGS }));
    return { modcacherw: env.modcacherw, mod: env.mod };
  };
  assert.deepEqual(flags(""), { modcacherw: false, mod: "" });
  assert.deepEqual(flags("-modcacherw -mod=mod"), { modcacherw: true, mod: "mod" });
  assert.deepEqual(flags("--modcacherw --mod=readonly"), { modcacherw: true, mod: "readonly" });
  assert.deepEqual(flags("-modcacherw=1"), { modcacherw: true, mod: "" });
  assert.deepEqual(flags("-modcacherw -modcacherw=false"), { modcacherw: false, mod: "" });
  assert.deepEqual(flags("-modcacherw=0 -mod=vendor -mod=mod"), { modcacherw: false, mod: "mod" });
  assert.deepEqual(flags("-modfile=x.mod -modcacherwx"), { modcacherw: false, mod: "" });
  assert.throws(() => flags("-modcacherw=yes"), {
    message: 'invalid boolean value "yes" for flag -modcacherw (from $GOFLAGS)',
  });
  assert.throws(() => flags("-mod"), GoEnvError);
  assert.throws(() => flags("'-mod=mod"), GoEnvError);
});

Deno.test("resolveGoEnv: GOFLAGS comes from the user file too", () => {
  const env = resolveGoEnv(inputs({}, { [USER_FILE]: "GOFLAGS=-modcacherw\n" }));
  assert.equal(env.GOFLAGS, "-modcacherw");
  assert.equal(env.modcacherw, true);
});

Deno.test("resolveGoEnv: GOMODCACHE must be absolute", () => {
  assert.throws(() => resolveGoEnv(inputs({ GOMODCACHE: "rel/mod" })), {
    name: "GoEnvError",
    message: 'GOMODCACHE entry is relative; must be absolute path: "rel/mod"',
  });
  assert.throws(() => resolveGoEnv(inputs({ GOPATH: "go" })), {
    message: 'GOPATH entry is relative; must be absolute path: "go"',
  });
  assert.throws(() => resolveGoEnv(inputs({ GOPATH: "/a:~/go", GOMODCACHE: "/cache/mod" })), {
    message: `GOPATH entry cannot start with shell metacharacter '~': "~/go"`,
  });
  assert.throws(() => resolveGoEnv(inputs({ HOME: undefined })), {
    message: "module cache not found: neither GOMODCACHE nor GOPATH is set",
  });
  const env = resolveGoEnv(inputs({ HOME: undefined, GOMODCACHE: "/cache/mod" }));
  assert.equal(env.GOMODCACHE, "/cache/mod");
  assert.equal(env.GOPATH, "");
});

Deno.test("resolveGoEnv: GOPATH and GOMODCACHE defaults", () => {
  const env = resolveGoEnv(inputs({}));
  assert.equal(env.GOPATH, "/home/u/go");
  assert.equal(env.GOMODCACHE, "/home/u/go/pkg/mod");

  const list = resolveGoEnv(inputs({ GOPATH: "/first/:/second" }));
  assert.equal(list.GOMODCACHE, "/first/pkg/mod");

  const fromFile = resolveGoEnv(inputs({}, { [USER_FILE]: "GOMODCACHE=/file/mod\n" }));
  assert.equal(fromFile.GOMODCACHE, "/file/mod");

  const sameAsGoroot = resolveGoEnv(inputs({ GOROOT: "/home/u/go/", GOMODCACHE: "/m" }));
  assert.equal(sameAsGoroot.GOPATH, "");

  const windows = resolveGoEnv({
    env: { USERPROFILE: "C:\\Users\\u", GOROOT: "C:\\Go" },
    os: "windows",
    readTextFile: () => undefined,
  });
  assert.equal(windows.GOPATH, "C:\\Users\\u\\go");
  assert.equal(windows.GOMODCACHE, "C:\\Users\\u\\go\\pkg\\mod");
  assert.throws(
    () =>
      resolveGoEnv({
        env: { GOMODCACHE: "\\mod", GOROOT: "C:\\Go" },
        os: "windows",
        readTextFile: () => undefined,
      }),
    GoEnvError,
  );
});

Deno.test("resolveGoEnv: GONOPROXY and GONOSUMDB default to GOPRIVATE", () => {
  const env = resolveGoEnv(inputs({ GOPRIVATE: "corp.example/*" }));
  assert.equal(env.GONOPROXY, "corp.example/*");
  assert.equal(env.GONOSUMDB, "corp.example/*");
  assert.equal(env.GOINSECURE, "");

  const explicit = resolveGoEnv(
    inputs({ GOPRIVATE: "corp.example" }, { [USER_FILE]: "GONOPROXY=none\n" }),
  );
  assert.equal(explicit.GONOPROXY, "none");
  assert.equal(explicit.GONOSUMDB, "corp.example");

  const fromFile = resolveGoEnv(inputs({}, { [USER_FILE]: "GOPRIVATE=file.example\n" }));
  assert.equal(fromFile.GONOPROXY, "file.example");
});

Deno.test("resolveGoEnv: GOROOT from the go binary when not set", () => {
  const files = { "/usr/lib/go-1.22/go.env": "GOPROXY=https://goroot.example\n" };
  const env = resolveGoEnv(
    inputs({ GOROOT: undefined }, files, { goBinary: "/usr/lib/go-1.22/bin/go" }),
  );
  assert.equal(env.GOROOT, "/usr/lib/go-1.22");
  assert.equal(env.GOPROXY, "https://goroot.example");

  const notInBin = resolveGoEnv(inputs({ GOROOT: undefined }, {}, { goBinary: "/opt/go/go" }));
  assert.equal(notInBin.GOROOT, "/opt/go");

  const none = resolveGoEnv(inputs({ GOROOT: undefined }));
  assert.equal(none.GOROOT, "");

  const explicit = resolveGoEnv(
    inputs({ GOROOT: "/goroot/" }, { [GO_ENV]: "GOSUMDB=goroot-sumdb\n" }, {
      goBinary: "/x/bin/go",
    }),
  );
  assert.equal(explicit.GOROOT, "/goroot/");
  assert.equal(explicit.GOSUMDB, "goroot-sumdb");

  const windows = resolveGoEnv({
    env: { USERPROFILE: "C:\\Users\\u" },
    os: "windows",
    readTextFile: () => undefined,
    goBinary: "C:\\Program Files\\Go\\BIN\\go.exe",
  });
  assert.equal(windows.GOROOT, "C:\\Program Files\\Go");
});

Deno.test("resolveGoEnv: a GOROOT in the user file locates go.env", () => {
  const files = {
    [USER_FILE]: "GOROOT=/usr/local/go\n",
    "/usr/local/go/go.env": "GOSUMDB=from-user-goroot\n",
  };
  const env = resolveGoEnv(inputs({ GOROOT: undefined }, files, { goBinary: "/x/bin/go" }));
  assert.equal(env.GOROOT, "/usr/local/go");
  assert.equal(env.GOSUMDB, "from-user-goroot");
});

Deno.test("resolveGoEnv: Windows variable names are case-insensitive", () => {
  const env = resolveGoEnv({
    env: { USERPROFILE: "C:\\Users\\u", GOROOT: "C:\\Go", goproxy: "https://env.example" },
    os: "windows",
    readTextFile: () => undefined,
  });
  assert.equal(env.GOPROXY, "https://env.example");
});

Deno.test("findGoBinary: searches absolute PATH entries", () => {
  const files = new Set(["/usr/local/go/bin/go", "go"]);
  const isFile = (p: string) => files.has(p);
  assert.equal(
    findGoBinary("::.:/usr/bin:/usr/local/go/bin", "linux", isFile),
    "/usr/local/go/bin/go",
  );
  assert.equal(findGoBinary("/usr/bin", "linux", isFile), undefined);
  assert.equal(findGoBinary("", "linux", isFile), undefined);
  assert.equal(
    findGoBinary(
      'C:\\Windows;"C:\\Program Files\\Go\\bin"',
      "windows",
      (p) => p === "C:\\Program Files\\Go\\bin\\go.exe",
    ),
    "C:\\Program Files\\Go\\bin\\go.exe",
  );
});
