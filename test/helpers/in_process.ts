// A server in the test's own process, on port 0 over a data directory, with a bootstrap admin
// key and password (read at start only, so the environment is restored at once).
import path from 'node:path';
import { defaultConfig } from '../../server/config.js';
import { type RunningServer, startServer } from '../../server/server.js';

export async function startInProcess(
  dir: string,
  key: string,
  password: string,
): Promise<{ server: RunningServer; base: string }> {
  process.env.ALLSOURCE_BOOTSTRAP_API_KEY = key;
  process.env.ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD = password;
  try {
    const server = await startServer({
      ...defaultConfig(),
      dataDir: dir,
      backupDir: path.join(dir, 'backups'),
      port: 0,
    });
    return { server, base: `http://127.0.0.1:${server.port}` };
  } finally {
    delete process.env.ALLSOURCE_BOOTSTRAP_API_KEY;
    delete process.env.ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD;
  }
}
