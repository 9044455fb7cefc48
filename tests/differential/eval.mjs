// Oracle for tests/integration/expr_differential.rs: evaluates GitHub Actions expressions with
// GitHub's own TypeScript evaluator, `@actions/expressions` (pinned in package.json).
//
// Input: JSON lines on stdin, each `{"expr": "...", "contexts": {...}}`.
// Output: one JSON line per input line, in order:
//   {"ok": true, "kind": "Null"|"Boolean"|"Number"|"String"|"Array"|"Object", "value": <json>}
//   {"ok": false, "kind": "lexing"|"parsing"|"evaluation", "message": "..."}
// A top-level NaN/Infinity/-Infinity result (JSON cannot hold it) is written as the string
// "NaN"/"Infinity"/"-Infinity" with kind "Number".
//
// It drives the package the way its cross-language harness (expressions/src/xlang.test.ts in
// actions/languageservices) does: Lexer, then Parser with the context names as the only
// named-values and no extra functions, then Evaluator over a data.Dictionary built with
// data.reviver; results are turned back into JSON with data.replacer.

import { createInterface } from "node:readline";
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";

function kindName(d) {
  switch (d.kind) {
    case data.Kind.Null:
      return "Null";
    case data.Kind.Boolean:
      return "Boolean";
    case data.Kind.Number:
      return "Number";
    case data.Kind.String:
      return "String";
    case data.Kind.Array:
      return "Array";
    case data.Kind.Dictionary:
      return "Object";
  }
  return `unknown(${d.kind})`;
}

function errorMessage(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function run(line) {
  let input;
  try {
    input = JSON.parse(line);
  } catch (e) {
    return { ok: false, kind: "harness", message: `bad input line: ${errorMessage(e)}` };
  }
  const expr = input.expr;
  // Same as the harness: JSON.parse with the package's reviver turns plain JSON into
  // ExpressionData (objects become data.Dictionary, keys in Object.keys order).
  const contexts = JSON.parse(JSON.stringify(input.contexts ?? {}), data.reviver);

  let tokens;
  try {
    tokens = new Lexer(expr).lex().tokens;
  } catch (e) {
    return { ok: false, kind: "lexing", message: errorMessage(e) };
  }

  let ast;
  try {
    const names = contexts.pairs().map(p => p.key);
    ast = new Parser(tokens, names, []).parse();
  } catch (e) {
    return { ok: false, kind: "parsing", message: errorMessage(e) };
  }

  let result;
  try {
    result = ast === undefined ? new data.Null() : new Evaluator(ast, contexts).evaluate();
  } catch (e) {
    return { ok: false, kind: "evaluation", message: errorMessage(e) };
  }

  const kind = kindName(result);
  if (result.kind === data.Kind.Number && !Number.isFinite(result.number())) {
    return { ok: true, kind, value: String(result.number()) };
  }
  return { ok: true, kind, value: JSON.parse(JSON.stringify(result, data.replacer)) };
}

const out = [];
function flush() {
  if (out.length > 0) {
    process.stdout.write(out.join(""));
    out.length = 0;
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
rl.on("line", line => {
  let r;
  try {
    r = run(line);
  } catch (e) {
    r = { ok: false, kind: "harness", message: errorMessage(e) };
  }
  out.push(JSON.stringify(r) + "\n");
  if (out.length >= 256) {
    flush();
  }
});
rl.on("close", flush);
// Flush whatever is pending whenever the input pauses, so a caller that waits for each
// answer before sending the next still makes progress.
process.stdin.on("pause", flush);
setInterval(flush, 50).unref();
