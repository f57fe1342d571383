import type { ImportEdge, ImportGraph } from './import-graph.ts';

/**
 * The layers of src/, highest first (docs/architecture.md says what lives in each). A module may
 * import from its own layer and from lower ones. Layers listed together on one rank are
 * siblings: neither may import the other (the HTTP surfaces share what they need through a
 * lower layer instead).
 */
export type Layer = { name: string; rank: number; matches: (module: string) => boolean };

const under = (folder: string) => (module: string) => module.startsWith(`${folder}/`);
const oneOf = (...files: string[]) => (module: string) => files.includes(module);

export const layers: readonly Layer[] = [
  { name: 'cli', rank: 0, matches: (m) => under('cli')(m) || m === 'start.ts' },
  { name: 'main', rank: 1, matches: oneOf('main.ts') },
  { name: 'server', rank: 2, matches: oneOf('server.ts', 'services.ts') },
  { name: 'app', rank: 3, matches: oneOf('app.ts') },
  { name: 'http', rank: 4, matches: under('http') },
  { name: 'mcp', rank: 4, matches: under('mcp') },
  { name: 'api', rank: 5, matches: under('api') },
  { name: 'telemetry', rank: 6, matches: under('telemetry') },
  { name: 'wire', rank: 7, matches: under('wire') },
  { name: 'core', rank: 8, matches: under('core') },
  { name: 'db', rank: 9, matches: under('db') },
  { name: 'config', rank: 10, matches: oneOf('config.ts', 'env-file.ts', 'egress-allowlist.ts', 'telemetry-config.ts', 'logger.ts', 'errors.ts', 'version.ts') },
];

export function layerOf(module: string, within: readonly Layer[] = layers): Layer | undefined {
  return within.find((layer) => layer.matches(module));
}

function describe(edge: ImportEdge): string {
  return `${edge.from} imports ${edge.to}${edge.typeOnly ? ' (type-only)' : ''}`;
}

/** Every import that goes up a layer or sideways to a sibling, and every module no layer claims. */
export function layerViolations(graph: ImportGraph, within: readonly Layer[] = layers): string[] {
  const found: string[] = [];
  for (const module of graph.modules) {
    if (!layerOf(module, within)) found.push(`${module} belongs to no layer: add it to test/architecture/layer-rules.ts and docs/architecture.md`);
  }
  for (const edge of graph.edges) {
    const from = layerOf(edge.from, within);
    const to = layerOf(edge.to, within);
    if (!from || !to || from === to) continue;
    if (to.rank < from.rank) found.push(`${describe(edge)}: ${from.name} may not import the higher layer ${to.name}`);
    else if (to.rank === from.rank) found.push(`${describe(edge)}: ${from.name} and ${to.name} are siblings and may not import each other`);
  }
  return found;
}

/**
 * Every import of a query module (`db/queries/`) from outside core and db. Queries are core's
 * tools: the layers above reach the data through core's functions, so a rule about the data
 * (who may see a row, what a change records) cannot be skipped by a page or a router.
 */
export function queriesOutsideCore(graph: ImportGraph): string[] {
  return graph.edges
    .filter((edge) => edge.to.startsWith('db/queries/') && !edge.from.startsWith('core/') && !edge.from.startsWith('db/'))
    .map((edge) => `${describe(edge)}: only core and db may use the queries in db/queries/`);
}

/**
 * The import cycles among modules, each as the path that closes it (`a.ts → b.ts → a.ts`):
 * Tarjan's strongly connected components, then one cycle through each component.
 */
export function importCycles(graph: ImportGraph): string[] {
  const next = new Map<string, string[]>(graph.modules.map((m) => [m, []]));
  for (const { from, to } of graph.edges) if (!next.get(from)?.includes(to)) next.get(from)?.push(to);

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const connect = (module: string): void => {
    index.set(module, counter);
    low.set(module, counter++);
    stack.push(module);
    onStack.add(module);
    for (const target of next.get(module) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(module, Math.min(low.get(module)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(module, Math.min(low.get(module)!, index.get(target)!));
    }
    if (low.get(module) !== index.get(module)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== module);
    const selfImport = component.length === 1 && next.get(module)!.includes(module);
    if (component.length > 1 || selfImport) components.push(component.sort());
  };
  for (const module of graph.modules) if (!index.has(module)) connect(module);

  return components.map((component) => {
    const cycle = cycleThrough(component, next);
    const others = component.filter((m) => !cycle.includes(m));
    return cycle.join(' → ') + (others.length > 0 ? ` (tangled with ${others.join(', ')})` : '');
  });
}

/** A shortest path from the component's first module back to itself, staying inside the component. */
function cycleThrough(component: string[], next: Map<string, string[]>): string[] {
  const start = component[0]!;
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const module = queue.shift()!;
    for (const target of next.get(module) ?? []) {
      if (!inside.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at: string | undefined = module; at !== undefined && at !== start; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, module);
        queue.push(target);
      }
    }
  }
  return [...component, start];
}
