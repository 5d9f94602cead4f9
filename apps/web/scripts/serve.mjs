// Serves the built page (dist/) over HTTP on localhost: `pnpm web` builds it and runs this, and the browser test
// starts it in-process. Only files under dist/ are served (no listing, no path outside it); .wasm as
// application/wasm so browsers compile it streaming.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
};

export const distFolder = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** Starts serving `root` on 127.0.0.1:`port` (0: any free port); resolves to the page's URL and a close function. */
export function servePage(root = distFolder, port = 0) {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    let size = -1;
    try {
      if (file.startsWith(root + sep) && (request.method === 'GET' || request.method === 'HEAD')) size = statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (size < 0) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-cache' });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((done) => server.close(() => done(undefined))) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!statSync(join(distFolder, 'index.html'), { throwIfNoEntry: false })) {
    console.error(`no built page in ${distFolder}: run 'pnpm --filter @densepure/web build' first (pnpm web does both)`);
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 5173);
  servePage(distFolder, Number.isInteger(port) && port >= 0 ? port : 5173).then(
    ({ url }) => console.log(`densepure page: ${url}  (Ctrl-C stops it)`),
    (error) => {
      console.error(`cannot serve the page: ${error.message}${error.code === 'EADDRINUSE' ? ' (set PORT to another port)' : ''}`);
      process.exit(1);
    },
  );
}
