import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImportGraph, type ImportGraph } from './import-graph.ts';
import { importCycles, layerViolations, queriesOutsideCore, type Layer } from './layer-rules.ts';

/**
 * The shape docs/architecture.md describes: imports point down the layers, never up or
 * sideways between the HTTP surfaces, and no module reaches itself through its imports.
 * Type-only imports count: a type names what a module depends on as much as a value does,
 * and a cycle of types still means two modules cannot be understood or moved apart.
 */
const repository = path.resolve(import.meta.dirname, '../..');
const graph = buildImportGraph(path.join(repository, 'src'), path.join(repository, 'tsconfig.json'));

describe('the import graph of src/', () => {
  it('is read from the tree (the checks below are not vacuous)', () => {
    expect(graph.modules).toContain('core/auth/authenticate.ts');
    expect(graph.edges).toContainEqual({ from: 'app.ts', to: 'api/router.ts', typeOnly: false });
    expect(graph.edges.some((edge) => edge.typeOnly)).toBe(true);
  });

  it('imports only from the same layer or lower ones, never between sibling surfaces', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('reaches the database queries only from core', () => {
    expect(queriesOutsideCore(graph)).toEqual([]);
  });

  it('has no cycles', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const toy: Layer[] = [
    { name: 'top', rank: 0, matches: (m) => m.startsWith('top/') },
    { name: 'left', rank: 1, matches: (m) => m.startsWith('left/') },
    { name: 'right', rank: 1, matches: (m) => m.startsWith('right/') },
    { name: 'bottom', rank: 2, matches: (m) => m.startsWith('bottom/') },
  ];
  const edge = (from: string, to: string, typeOnly = false) => ({ from, to, typeOnly });

  it('accepts imports downwards and within a layer', () => {
    const fine: ImportGraph = {
      modules: ['top/a.ts', 'left/b.ts', 'right/c.ts', 'bottom/d.ts', 'bottom/e.ts'],
      edges: [edge('top/a.ts', 'left/b.ts'), edge('top/a.ts', 'right/c.ts'), edge('left/b.ts', 'bottom/d.ts'), edge('right/c.ts', 'bottom/d.ts'), edge('bottom/d.ts', 'bottom/e.ts'), edge('top/a.ts', 'bottom/e.ts')],
    };
    expect(layerViolations(fine, toy)).toEqual([]);
    expect(importCycles(fine)).toEqual([]);
  });

  it('names an import that goes up, one between siblings, and a module without a layer', () => {
    const wrong: ImportGraph = {
      modules: ['top/a.ts', 'left/b.ts', 'right/c.ts', 'bottom/d.ts', 'stray.ts'],
      edges: [edge('bottom/d.ts', 'top/a.ts', true), edge('left/b.ts', 'right/c.ts')],
    };
    expect(layerViolations(wrong, toy)).toEqual([
      'stray.ts belongs to no layer: add it to test/architecture/layer-rules.ts and docs/architecture.md',
      'bottom/d.ts imports top/a.ts (type-only): bottom may not import the higher layer top',
      'left/b.ts imports right/c.ts: left and right are siblings and may not import each other',
    ]);
  });

  it('names a query used from outside core', () => {
    const direct: ImportGraph = {
      modules: ['http/page.ts', 'core/flow.ts', 'db/queries/rows.ts', 'db/open.ts'],
      edges: [edge('http/page.ts', 'db/queries/rows.ts', true), edge('core/flow.ts', 'db/queries/rows.ts'), edge('http/page.ts', 'db/open.ts'), edge('db/queries/rows.ts', 'db/open.ts')],
    };
    expect(queriesOutsideCore(direct)).toEqual(['http/page.ts imports db/queries/rows.ts (type-only): only core and db may use the queries in db/queries/']);
  });

  it('names each cycle by a path that closes it, and a module importing itself', () => {
    const tangled: ImportGraph = {
      modules: ['bottom/a.ts', 'bottom/b.ts', 'bottom/c.ts', 'bottom/d.ts', 'bottom/e.ts', 'bottom/f.ts'],
      edges: [
        edge('bottom/a.ts', 'bottom/b.ts'),
        edge('bottom/b.ts', 'bottom/c.ts', true),
        edge('bottom/c.ts', 'bottom/a.ts'),
        edge('bottom/c.ts', 'bottom/d.ts'),
        edge('bottom/d.ts', 'bottom/e.ts'),
        edge('bottom/f.ts', 'bottom/f.ts'),
      ],
    };
    expect(importCycles(tangled).sort()).toEqual(['bottom/a.ts → bottom/b.ts → bottom/c.ts → bottom/a.ts', 'bottom/f.ts → bottom/f.ts']);
  });
});
