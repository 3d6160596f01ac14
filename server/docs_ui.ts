// Interactive API documentation at /docs: Swagger UI from the swagger-ui-dist package, served
// by the server itself (no CDN, works offline), reading /openapi.json. The files are read once
// at start; the page is public like the document it shows.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { send } from './http/reply.js';
import type { Handler } from './http/request.js';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AllSource API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="api-docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#api-docs',
  deepLinking: true,
  tryItOutEnabled: false,
});
`;

/** Scripts and styles come only from this server; Swagger UI sets inline styles and data: images. */
const CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

export function docsRoutes() {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const bundle = fs.readFileSync(path.join(dist, 'swagger-ui-bundle.js'));
  const css = fs.readFileSync(path.join(dist, 'swagger-ui.css'));
  const serve =
    (body: string | Buffer, type: string): Handler =>
    (ex) => {
      ex.headers.push(['content-security-policy', CSP], ['cache-control', 'public, max-age=3600']);
      send(ex, '200 OK', body, type);
    };
  return {
    page: serve(PAGE, 'text/html; charset=utf-8'),
    init: serve(INIT, 'text/javascript; charset=utf-8'),
    bundle: serve(bundle, 'text/javascript; charset=utf-8'),
    css: serve(css, 'text/css; charset=utf-8'),
  };
}
