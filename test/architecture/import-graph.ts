import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import written in a source file, resolved to another file of the same tree. */
export interface ImportEdge {
  from: string;
  to: string;
  /** `import type …` / `export type … from`: erased at runtime, but still a dependency of the design. */
  typeOnly: boolean;
}

/** Paths are relative to the tree's root, with forward slashes (`core/audit/audit-log.ts`). */
export interface ImportGraph {
  modules: string[];
  edges: ImportEdge[];
}

function sourceFilesUnder(directory: string): string[] {
  return fs
    .readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(directory, file))
    .sort();
}

/** Whether every import/export clause in the declaration is written as type-only. */
function isTypeOnly(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) {
    if (statement.isTypeOnly) return true;
    const clause = statement.exportClause;
    return !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
  }
  const clause = statement.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** The specifiers a file imports statically or with `import('…')`, each with whether it is type-only. */
function importsOf(sourceFile: ts.SourceFile): { specifier: string; typeOnly: boolean }[] {
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnly(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push({ specifier: argument.text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/**
 * The graph of imports between the TypeScript files under `root`, resolved the way the compiler
 * resolves them (the repository's tsconfig). Imports of packages and of files outside `root` are
 * left out: the rules are about how the tree's own modules depend on each other.
 */
export function buildImportGraph(root: string, tsconfigPath: string): ImportGraph {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error(`cannot read ${tsconfigPath}`);
  const files = sourceFilesUnder(root);
  const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const sourceFile = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    for (const { specifier, typeOnly } of importsOf(sourceFile)) {
      const resolved = ts.resolveModuleName(specifier, file, config.options, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport) continue;
      const target = path.resolve(resolved.resolvedFileName);
      if (!target.startsWith(root + path.sep)) continue;
      edges.push({ from: relative(file), to: relative(target), typeOnly });
    }
  }
  return { modules: files.map(relative), edges };
}
