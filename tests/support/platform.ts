/**
 * Whether this machine has a mechanism some tests need beyond Deno and Go, and the one rule for
 * when it does not: on Linux under `CI=true` the test runs anyway and fails, saying what is
 * missing (CI must never pass by skipping); on another system it is ignored, with a line saying
 * why; outside CI it is skipped, with a line saying why.
 *
 * @module
 */

/**
 * A mechanism a test needs:
 * - `mount namespace`: root and `unshare -m`, to mount a tmpfs or a read-only bind mount that
 *   disappears with the namespace (Linux only);
 * - `network namespace`: root, `unshare -m -n` and `ip`, for a private loopback network
 *   (Linux only);
 * - `peak RSS`: `VmHWM` in `/proc/self/status`, a process's peak resident set size (Linux only);
 * - `pseudo-terminal`: `script` running a command on a pseudo-terminal (util-linux's on Linux,
 *   BSD's on macOS).
 */
export type Mechanism = "mount namespace" | "network namespace" | "peak RSS" | "pseudo-terminal";

/** What each mechanism needs, for the messages. */
const NEEDS: Record<Mechanism, string> = {
  "mount namespace": "root and unshare(1) to mount file systems in a private mount namespace",
  "network namespace": "root, unshare(1) and ip(8) for a private network namespace",
  "peak RSS": "/proc/self/status (VmHWM) to measure peak RSS",
  "pseudo-terminal": "script(1) to run a command on a pseudo-terminal",
};

const probed = new Map<Mechanism, boolean>();

/** Whether this machine has `mechanism`; probed once, by running it. */
export function has(mechanism: Mechanism): boolean {
  let found = probed.get(mechanism);
  if (found === undefined) probed.set(mechanism, found = probe(mechanism));
  return found;
}

function probe(mechanism: Mechanism): boolean {
  const linux = Deno.build.os === "linux";
  switch (mechanism) {
    case "mount namespace":
      return linux && Deno.uid() === 0 && succeeds("unshare", ["-m", "true"]);
    case "network namespace":
      return linux && Deno.uid() === 0 &&
        succeeds("unshare", ["-m", "-n", "ip", "link", "set", "lo", "up"]);
    case "peak RSS":
      try {
        return linux && /^VmHWM:\s*\d+ kB$/m.test(Deno.readTextFileSync("/proc/self/status"));
      } catch {
        return false;
      }
    case "pseudo-terminal": {
      const [program, ...args] = ptyCommand("test -t 0 && test -t 2");
      return succeeds(program, args);
    }
  }
}

function succeeds(program: string, args: string[]): boolean {
  try {
    return new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * The command that runs the shell command `command` with its standard streams on a new
 * pseudo-terminal, its output (both streams) on `script`'s standard output and its exit status
 * as `script`'s: util-linux's `script -qfec COMMAND /dev/null` on Linux, BSD's
 * `script -q /dev/null sh -c COMMAND` elsewhere (macOS).
 *
 * @example
 * ```ts
 * const [program, ...args] = ptyCommand("stty cols 60 && deno run cli.ts .");
 * ```
 */
export function ptyCommand(command: string): string[] {
  return Deno.build.os === "linux"
    ? ["script", "-qfec", command, "/dev/null"]
    : ["script", "-q", "/dev/null", "sh", "-c", command];
}

/**
 * The rule for a test that needs a mechanism: `run` it where the mechanism exists, make it
 * `fail` where it is missing on Linux under `CI=true` (`ci` is the value of `CI`), else `skip`.
 *
 * @example
 * ```ts
 * verdict(false, "darwin", "true"); // "skip"
 * ```
 */
export function verdict(
  available: boolean,
  os: typeof Deno.build.os,
  ci: string | undefined,
): "run" | "fail" | "skip" {
  if (available) return "run";
  return os === "linux" && ci === "true" ? "fail" : "skip";
}

function verdictHere(mechanism: Mechanism): "run" | "fail" | "skip" {
  return verdict(has(mechanism), Deno.build.os, Deno.env.get("CI"));
}

function missing(mechanism: Mechanism): string {
  return `needs ${NEEDS[mechanism]}`;
}

/**
 * `test` as it should run here, given that it needs `mechanism`: unchanged where the mechanism
 * exists; failing at once, naming what is missing, on Linux under `CI=true`; else ignored,
 * after a line on the console saying why.
 *
 * @example
 * ```ts
 * Deno.test(needing("mount namespace", { name: "a full disk…", fn: async () => {} }));
 * ```
 */
export function needing(mechanism: Mechanism, test: Deno.TestDefinition): Deno.TestDefinition {
  const rule = verdictHere(mechanism);
  if (rule === "run") return test;
  if (rule === "fail") {
    return {
      ...test,
      fn: () => {
        throw new Error(`${missing(mechanism)}, and CI=true on Linux runs every test`);
      },
    };
  }
  console.warn(`skipped on ${Deno.build.os}: "${test.name}" ${missing(mechanism)}`);
  return { ...test, ignore: true };
}

/**
 * Whether a check inside a test that needs `mechanism` (`what` names it) can be made: true
 * where the mechanism exists; otherwise it throws on Linux under `CI=true`, and else returns
 * false after a line on the console saying the check is skipped and why.
 *
 * @example
 * ```ts
 * if (canCheck("pseudo-terminal", "the run on a terminal")) {
 *   // run it under ptyCommand(…)
 * }
 * ```
 */
export function canCheck(mechanism: Mechanism, what: string): boolean {
  const rule = verdictHere(mechanism);
  if (rule === "run") return true;
  if (rule === "fail") {
    throw new Error(`${what} ${missing(mechanism)}, and CI=true on Linux checks it`);
  }
  console.warn(`not checked on ${Deno.build.os}: ${what} ${missing(mechanism)}`);
  return false;
}
