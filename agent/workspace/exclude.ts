/*
 * `workspace.exclude` patterns (issue 6 "Workspaces"). A pattern is a path relative to the
 * workspace, matched component by component; `*` matches any run of characters within one
 * component (never a "/"), `?` one character. A pattern matches a path or any of its parents:
 * ".cache" leaves out ".cache" and everything under it (at the top of the workspace only),
 * "*.log" every .log at the top, "build/*.o" the .o files directly in build, "node_modules"
 * the top-level node_modules folder. A trailing "/" is ignored.
 */

function componentRegex(part: string): RegExp {
  const body = part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`, 's');
}

export type Excluder = (relativePath: string) => boolean;

/** A predicate over member paths relative to the workspace ("a/b", no leading "./"). */
export function excluder(patterns: readonly string[]): Excluder {
  const compiled = patterns
    .map((p) => p.split('/').filter((c) => c !== '' && c !== '.'))
    .filter((parts) => parts.length > 0)
    .map((parts) => parts.map(componentRegex));
  if (!compiled.length) return () => false;
  return (path: string) => {
    const parts = path.split('/').filter(Boolean);
    return compiled.some((pattern) => pattern.length <= parts.length && pattern.every((re, i) => re.test(parts[i])));
  };
}
