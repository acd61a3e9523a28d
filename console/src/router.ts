/* Hash routes, so that the server serves one page and reloads keep the place. */

export type Route =
  | { page: 'buckets' }
  | { page: 'objects'; bucket: string; prefix: string }
  | { page: 'object'; bucket: string; key: string }
  | { page: 'nodes' }
  | { page: 'metrics' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const rest = (from: number) => parts.slice(from).map(decodeURIComponent).join('/');
  switch (parts[0]) {
    case 'b': return { page: 'objects', bucket: decodeURIComponent(parts[1] ?? ''), prefix: rest(2) };
    case 'o': return { page: 'object', bucket: decodeURIComponent(parts[1] ?? ''), key: rest(2) };
    case 'nodes': return { page: 'nodes' };
    case 'metrics': return { page: 'metrics' };
    default: return { page: 'buckets' };
  }
}

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

export const href = {
  buckets: () => '#/',
  objects: (bucket: string, prefix = '') => `#/b/${encodeURIComponent(bucket)}/${enc(prefix)}`,
  object: (bucket: string, key: string) => `#/o/${encodeURIComponent(bucket)}/${enc(key)}`,
  nodes: () => '#/nodes',
  metrics: () => '#/metrics',
};
