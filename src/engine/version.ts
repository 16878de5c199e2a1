/**
 * goprefetch's version, one constant that the library, the command line and the JSON report
 * share (a test checks it against deno.json).
 *
 * @module
 */

/** goprefetch's version, as published. */
export const VERSION = "0.1.0";
