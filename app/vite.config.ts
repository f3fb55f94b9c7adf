/// <reference types="vitest/config" />
// Preact's JSX through Vite's own transformer (no Babel plugin): the tsconfig's jsxImportSource is all it needs.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/app/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { target: "es2022", sourcemap: false, assetsInlineLimit: 0 },
  server: { proxy: { "/v1": "http://127.0.0.1:5000", "/mobile": "http://127.0.0.1:5000" } },
  test: { environment: "happy-dom", include: ["src/**/*.test.{ts,tsx}"] },
});
