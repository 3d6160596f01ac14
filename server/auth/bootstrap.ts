// First start: with no users, create `admin` (role admin, tenant default) with the password from
// ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD, or a random one written once to a 0600 file in the data
// directory. ALLSOURCE_BOOTSTRAP_API_KEY registers that key as an admin key of tenant default.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createNodeIo } from '../../engine/index.js';
import { type Accounts, hashKey, KEY_PREFIX } from './accounts.js';

export interface BootstrapResult {
  /** Set when this start created the admin user. */
  adminCreated: boolean;
  /** Where the generated password was written, when it was generated. */
  passwordFile: string | null;
}

export async function bootstrap(
  accounts: Accounts,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  passwordMinLength: number,
): Promise<BootstrapResult> {
  const result: BootstrapResult = { adminCreated: false, passwordFile: null };
  if (accounts.users.size === 0) {
    let password = env.ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD ?? '';
    if (password !== '' && password.length < passwordMinLength) {
      throw new Error(
        `ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD must be at least ${passwordMinLength} characters`,
      );
    }
    if (password === '') {
      password = randomBytes(18).toString('base64url');
      result.passwordFile = path.join(dataDir, 'auth', 'bootstrap-admin-password');
      await createNodeIo().writeFileAtomic(result.passwordFile, Buffer.from(`${password}\n`));
    }
    await accounts.createUser({
      username: 'admin',
      email: 'admin@localhost',
      password,
      role: 'admin',
      tenantId: 'default',
    });
    result.adminCreated = true;
  }
  const key = env.ALLSOURCE_BOOTSTRAP_API_KEY ?? '';
  if (key !== '') {
    if (!key.startsWith(KEY_PREFIX) || key.length < KEY_PREFIX.length + 32) {
      throw new Error(
        `ALLSOURCE_BOOTSTRAP_API_KEY must start with ${KEY_PREFIX} and hold at least 32 more characters`,
      );
    }
    if (accounts.keyByHash(hashKey(key)) === undefined) {
      await accounts.createKey({
        name: 'bootstrap',
        role: 'admin',
        tenantId: 'default',
        userId: null,
        expiresAt: null,
        key,
      });
    }
  }
  return result;
}
