// Imported first by the launcher (cli.ts): on a Node.js older than the launcher needs, one line
// and exit 1, before anything else is loaded. scripts/check-node.js is the same check for the
// npm scripts that run before the build.
export const MIN_NODE: readonly [number, number] = [22, 9];

export function nodeVersionProblem(version: string, execPath = process.execPath): string | null {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number) as [number, number];
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return null;
  return `WPT-DLM needs Node.js ${MIN_NODE.join('.')} or later; this is Node.js ${version} (${execPath})`;
}

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  console.error(problem);
  process.exit(1);
}
