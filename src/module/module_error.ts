/**
 * The one error wrapper for a module version, as x/mod's `module.VersionError`: its message is
 * `path@version: ` and what went wrong, and it never wraps twice. Lower layers say what went
 * wrong; the module's name is added once, where the failure is recorded or where the error is
 * born a module's (a zip rule, a checksum).
 *
 * @module
 */

/** An error about one module version. */
export class ModuleError extends Error {
  override name = "ModuleError";
  /** The module path, unescaped. */
  readonly path: string;
  /** The module version, unescaped. */
  readonly version: string;
  /** What went wrong, without the module: the message after `path@version: `. */
  readonly detail: string;

  /** Creates the error; `options.cause` keeps the error it came from. */
  constructor(path: string, version: string, detail: string, options?: ErrorOptions) {
    super(`${path}@${version}: ${detail}`, options);
    this.path = path;
    this.version = version;
    this.detail = detail;
  }

  /**
   * `e` as an error about `path@version`: one that already is (a ModuleError for the same
   * module) is returned as it is; any other is wrapped, with its message as the detail.
   *
   * @example
   * ```ts
   * const e = ModuleError.of("example.com/m", "v1.0.0", new Error("404 Not Found"));
   * e.message; // "example.com/m@v1.0.0: 404 Not Found"
   * ModuleError.of("example.com/m", "v1.0.0", e) === e; // true
   * ```
   */
  static of(path: string, version: string, e: unknown): ModuleError {
    if (e instanceof ModuleError && e.path === path && e.version === version) return e;
    const detail = e instanceof Error ? e.message : String(e);
    return new ModuleError(path, version, detail, { cause: e });
  }
}
