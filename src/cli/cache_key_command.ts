/**
 * The `goprefetch cache-key` subcommand: prints the project's cache key (see
 * {@link computeCacheKey}) for `actions/cache` and the like.
 *
 * @module
 */
import { parseCommand, toolchainName, usage, UsageError } from "./args.ts";
import { computeCacheKey } from "../engine/cache_key.ts";
import { currentHost } from "../project/host.ts";
import { fail, type Sinks } from "./outcome.ts";
import { commandNeeds, missingPermission } from "./permissions.ts";
import { SetupError } from "../engine/setup.ts";

const HELP = `goprefetch cache-key: print a key for caching GOMODCACHE between CI runs

Usage: goprefetch cache-key [--recursive] [--toolchain goX.Y.Z] [PATH]

Prints the SHA-256 (hex) of the module versions that the go.sum files of PATH name,
with their hashes, sorted, and of the Go toolchain a prefetch fetches beside them,
if any: the same for the same dependencies whatever the order of the go.sum lines,
and different as soon as one module, hash or toolchain differs.

Options:
      --recursive        take the go.sum of every module under PATH
      --toolchain goX.Y.Z  the toolchain a prefetch is given with --toolchain (default:
                         the one GOTOOLCHAIN=auto would switch to for go.work or go.mod)
  -h, --help             show this help
`;

/** Runs `goprefetch cache-key` with `args` (those after `cache-key`); returns the exit code. */
export function cacheKeyMain(args: string[], sinks: Sinks): number {
  const parsed = parseCommand(
    args,
    {
      command: "cache-key",
      help: HELP,
      options: { recursive: { type: "boolean" }, toolchain: { type: "string" } },
    },
    sinks,
  );
  if (typeof parsed === "number") return parsed;
  const { values, path } = parsed;
  if (values.toolchain !== undefined) {
    try {
      toolchainName(values.toolchain);
    } catch (e) {
      if (e instanceof UsageError) return usage(e.message, sinks, "cache-key");
      throw e;
    }
  }
  const options = { dir: path, recursive: values.recursive, toolchain: values.toolchain };
  const missing = missingPermission(commandNeeds(options, "sums", []));
  if (missing) return fail(missing, sinks);
  const host = currentHost();
  try {
    sinks.stdout(computeCacheKey(options, host) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof SetupError) return fail(e.message, sinks);
    throw e;
  }
}
