import { defineConfig } from 'vite';

// A static page: relative asset URLs (it can be served from any folder), the certify worker as an ES module, and
// onnxruntime-web's .wasm emitted into the bundle (src/worker.ts points ort at it), never fetched from a CDN.
export default defineConfig({
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2048 },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
