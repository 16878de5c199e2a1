/**
 * The `goprefetch cache-key` subcommand: prints the project's cache key (see
 * {@link computeCacheKey}) for `actions/cache` and the like.
 *
 * @module
 */
import { parseCommand } from "./args.ts";
import { computeCacheKey } from "./cache_key.ts";
import { currentHost } from "./host.ts";
import { fail, type Sinks } from "./outcome.ts";
import { missingPermission, runNeeds } from "./permissions.ts";
import { SetupError } from "./prefetch.ts";

const HELP = `goprefetch cache-key: print a key for caching GOMODCACHE between CI runs

Usage: goprefetch cache-key [--recursive] [PATH]

Prints the SHA-256 (hex) of the module versions that the go.sum files of PATH name,
with their hashes, sorted: the same for the same dependencies whatever the order of
the go.sum lines, and different as soon as one module or hash differs.

Options:
      --recursive        take the go.sum of every module under PATH
  -h, --help             show this help
`;

/** Runs `goprefetch cache-key` with `args` (those after `cache-key`); returns the exit code. */
export function cacheKeyMain(args: string[], sinks: Sinks): number {
  const parsed = parseCommand(
    args,
    { command: "cache-key", help: HELP, options: { recursive: { type: "boolean" } } },
    sinks,
  );
  if (typeof parsed === "number") return parsed;
  const options = { dir: parsed.path, recursive: parsed.values.recursive };
  const host = currentHost();
  const missing = missingPermission(runNeeds(options, host, "sums"));
  if (missing) return fail(missing, sinks);
  try {
    sinks.stdout(computeCacheKey(options, host) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof SetupError) return fail(e.message, sinks);
    throw e;
  }
}
