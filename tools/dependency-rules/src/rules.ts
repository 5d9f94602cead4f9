// The house's dependency rule, checked over the workspace's sources and package.json files:
// - a library never depends on an app, a concrete backend (@densepure/backend-*) or a zoo (@densepure/zoo-*);
//   composition roots (apps, app-kit, declared entry points, tests) pass those in;
// - core depends on nothing of ours;
// - no app depends on another app.
// "Depends" is a runtime dependency in package.json (dependencies, optionalDependencies, peerDependencies; not
// devDependencies) or a module specifier in a non-test source file: import, import type, export ... from,
// import(), require(), import.meta.resolve(), import('x').T. Specifiers are read with TypeScript's parser.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/** What a workspace package is, for the rule. */
export type Role = 'core' | 'library' | 'app' | 'backend' | 'zoo' | 'composition-root';

/** Library packages (core included): they never import an app, a concrete backend or a zoo. */
export const LIBRARIES: readonly string[] = [
  '@densepure/core',
  '@densepure/backend',
  '@densepure/voting',
  '@densepure/classifiers',
  '@densepure/datasets',
  '@densepure/runner',
  '@densepure/queue',
  '@densepure/serve',
  '@densepure/plot',
  '@densepure/ground-truth',
];

/** Packages that pick backends and models for the apps: they may import anything but an app. */
export const COMPOSITION_ROOTS: readonly string[] = ['@densepure/app-kit'];

/**
 * Entry points inside library packages (a bin): composition roots, so they may import backends and zoos, and the
 * package may list what they import in its dependencies. Paths relative to the package folder.
 */
export const ENTRY_POINTS: Readonly<Record<string, readonly string[]>> = {
  '@densepure/ground-truth': ['src/study/bin.ts', 'src/study/mnist-exact-vote.ts', 'src/study/mnist-chains.ts'],
};

/** The role of a workspace package; null for one the rule does not know yet (the check reports it). */
export function roleOf(name: string, group: string): Role | null {
  if (group === 'apps') return 'app';
  if (name === '@densepure/core') return 'core';
  if (/^@densepure\/backend-[^/]+$/.test(name)) return 'backend';
  if (/^@densepure\/zoo-[^/]+$/.test(name)) return 'zoo';
  if (COMPOSITION_ROOTS.includes(name)) return 'composition-root';
  if (LIBRARIES.includes(name)) return 'library';
  return null;
}

/** Test code may import anything: test files, `src/testing/**` and `src/test-util/**`. */
export const isTestFile = (pathInPackage: string): boolean =>
  /\.test\.tsx?$/.test(pathInPackage) || /^src\/(testing|test-util)\//.test(pathInPackage);

export interface WorkspacePackage {
  readonly name: string;
  /** Relative to the workspace root, '/' separators: 'packages/runner'. */
  readonly dir: string;
  readonly role: Role | null;
  /** Runtime dependencies: dependencies, optionalDependencies, peerDependencies. */
  readonly dependencies: readonly { readonly field: string; readonly name: string; readonly line: number }[];
}

/** The line of `"dep"` inside the `"field"` object of a package.json text (1 when not found). */
function lineOf(text: string, field: string, dep: string): number {
  const at = text.indexOf(`"${dep}"`, Math.max(0, text.indexOf(`"${field}"`)));
  return at < 0 ? 1 : text.slice(0, at).split('\n').length;
}

/** One way a file or package.json reaches another package. */
export interface Dependency {
  /** 'packages/runner/src/pipeline.ts' or 'packages/runner/package.json'. */
  readonly file: string;
  readonly line: number;
  /** The package as named: '@densepure/zoo-mnist'. */
  readonly target: string;
  /** 'import', 'dynamic import', 'require', ..., or the package.json field. */
  readonly how: string;
}

export interface Violation extends Dependency {
  readonly rule: string;
}

/** Stable text of a violation, without its line (for allow-lists): `file -> target (how)`. */
export const violationKey = (v: Dependency): string => `${v.file} -> ${v.target} (${v.how})`;

/** Human text of a violation: where, what, and which rule. */
export const describeViolation = (v: Violation): string =>
  `${v.file}:${v.line}: ${v.file.endsWith('package.json') ? `${v.how} lists` : `${v.how} of`} ${v.target}: ${v.rule}`;

const toPosix = (p: string): string => p.split(sep).join('/');

/** The package a specifier names: '@scope/name' or 'name' (null for relative and absolute paths). */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Strips parentheses and type assertions: `import('x' as string)` still names 'x'. */
function literalText(node: ts.Expression | undefined): string | null {
  let n = node;
  while (n !== undefined && (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isTypeAssertionExpression(n))) n = n.expression;
  return n !== undefined && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : null;
}

/** Every module specifier a source file names, with how and where; a computed one (`import(name)`) as '<computed>'. */
export function moduleSpecifiers(fileName: string, text: string): { specifier: string; how: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { specifier: string; how: string; line: number }[] = [];
  const add = (node: ts.Node, specifier: string | null, how: string): void =>
    void found.push({ specifier: specifier ?? '<computed>', how, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, literalText(node.moduleSpecifier), node.importClause?.isTypeOnly ? 'import type' : 'import');
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) add(node, literalText(node.moduleSpecifier), 'export from');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, literalText(node.moduleReference.expression), 'import require');
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) add(node, node.argument.literal.text, 'import type');
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) add(node, literalText(node.arguments[0]), 'dynamic import');
      else if (ts.isIdentifier(callee) && callee.text === 'require') add(node, literalText(node.arguments[0]), 'require');
      else if (ts.isPropertyAccessExpression(callee) && (callee.name.text === 'resolve' && ts.isMetaProperty(callee.expression))) add(node, literalText(node.arguments[0]), 'import.meta.resolve');
      else if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'resolve' && ts.isIdentifier(callee.expression) && callee.expression.text === 'require') add(node, literalText(node.arguments[0]), 'require.resolve');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The workspace's packages under packages/ and apps/. */
export function workspacePackages(root: string): WorkspacePackage[] {
  return ['packages', 'apps'].flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group))
          .filter((d) => existsSync(join(root, group, d, 'package.json')))
          .sort()
          .map((d) => {
            const text = readFileSync(join(root, group, d, 'package.json'), 'utf8');
            const json = JSON.parse(text) as Record<string, Record<string, string> | string | undefined>;
            const name = json.name as string;
            const dependencies = ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) =>
              Object.keys((json[field] as Record<string, string> | undefined) ?? {}).map((dep) => ({ field, name: dep, line: lineOf(text, field, dep) })),
            );
            return { name, dir: `${group}/${d}`, role: roleOf(name, group), dependencies };
          })
      : [],
  );
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|tsx|mts|cts)$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

/** Why `from` may not depend on `to`, or null when it may. */
export function ruleBroken(from: WorkspacePackage, to: WorkspacePackage | undefined, toName: string): string | null {
  if (toName === from.name) return null;
  if (from.role === 'core' && toName.startsWith('@densepure/')) return 'core depends on nothing of ours';
  if (to === undefined) return null;
  if ((from.role === 'library' || from.role === 'core') && (to.role === 'app' || to.role === 'backend' || to.role === 'zoo')) {
    return `a library never depends on ${to.role === 'app' ? 'an app' : to.role === 'backend' ? 'a concrete backend' : 'a zoo'}: the composition root passes it in`;
  }
  if (from.role === 'app' && to.role === 'app') return 'no app depends on another app';
  return null;
}

export interface CheckResult {
  readonly violations: Violation[];
  /** Packages the rule cannot place: add them to LIBRARIES or COMPOSITION_ROOTS (or name them backend-*, zoo-*). */
  readonly unclassified: string[];
  /** Library files whose import specifier is computed, so the rule cannot see what they load. */
  readonly computed: Dependency[];
}

/** Checks every package under `root` (a workspace root with packages/ and apps/). */
export function checkDependencyRules(root: string): CheckResult {
  const packages = workspacePackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const violations: Violation[] = [];
  const computed: Dependency[] = [];
  for (const pkg of packages) {
    const entryPoints = ENTRY_POINTS[pkg.name] ?? [];
    const files = sourceFiles(join(root, pkg.dir, 'src')).map((f) => toPosix(relative(join(root, pkg.dir), f)));
    const entryImports = new Set<string>();
    for (const file of files) {
      const text = readFileSync(join(root, pkg.dir, file), 'utf8');
      const path = `${pkg.dir}/${file}`;
      for (const { specifier, how, line } of moduleSpecifiers(path, text)) {
        if (entryPoints.includes(file)) {
          const target = packageOf(specifier);
          if (target !== null) entryImports.add(target);
          continue;
        }
        if (isTestFile(file)) continue;
        if (specifier === '<computed>') {
          if (pkg.role === 'library' || pkg.role === 'core') computed.push({ file: path, line, target: specifier, how });
          continue;
        }
        const target = packageOf(specifier);
        if (target === null) continue;
        const rule = ruleBroken(pkg, byName.get(target), target);
        if (rule !== null) violations.push({ file: path, line, target, how, rule });
      }
    }
    for (const dep of pkg.dependencies) {
      const rule = ruleBroken(pkg, byName.get(dep.name), dep.name);
      if (rule !== null && !entryImports.has(dep.name)) violations.push({ file: `${pkg.dir}/package.json`, line: dep.line, target: dep.name, how: dep.field, rule });
    }
  }
  return { violations, unclassified: packages.filter((p) => p.role === null).map((p) => `${p.name} (${p.dir})`), computed };
}
