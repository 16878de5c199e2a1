/**
 * A `deno lint` plugin with one rule, `goprefetch/function-length`: no function in the engine
 * (`src/`) or the command line (`cli.ts`, `mod.ts`) is longer than {@link MAX_LINES} lines, from
 * its first line to its closing brace. A function longer than that does more than one thing:
 * split it. Tests and the benchmark are not held to it.
 *
 * @module
 */

/** The longest a function may be, in lines. */
export const MAX_LINES = 60;

/** Whether the rule applies to `file`, a path or a file URL. */
export function appliesTo(file: string): boolean {
  return /\/src\/[^/]+\/[^/]+\.ts$|\/(cli|mod)\.ts$/.test(file);
}

const plugin: Deno.lint.Plugin = {
  name: "goprefetch",
  rules: {
    "function-length": {
      create(context) {
        if (!appliesTo(context.filename)) return {};
        const check = (node: Deno.lint.Node) => {
          const [start, end] = node.range;
          const lines = context.sourceCode.text.slice(start, end).split("\n").length;
          if (lines > MAX_LINES) {
            context.report({
              node,
              message: `This function is ${lines} lines long, more than ${MAX_LINES}`,
              hint: "Split it into functions that each do one thing",
            });
          }
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
  },
};

export default plugin;
