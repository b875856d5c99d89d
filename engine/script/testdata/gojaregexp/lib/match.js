// goja cannot compile inline modifiers; esbuild lets them through.
export function matches(s) {
  return /(?i:a)b/.test(s);
}
