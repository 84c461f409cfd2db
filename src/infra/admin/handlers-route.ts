import type { AdminRoute } from './routes.js';

/**
 * `PUT /handlers/reload` (admin token): re-imports the operator's handler module. 200 with the
 * commands now served; 422 with the load error when the new module fails (the old one keeps
 * serving).
 */
export function handlersReloadRoute(
  reload: () => Promise<{ ok: true; commands: string[] } | { ok: false; error: string }>,
): AdminRoute {
  return {
    method: 'PUT',
    path: '/handlers/reload',
    auth: 'token',
    async handle() {
      const result = await reload();
      if (result.ok) return { status: 200, body: result };
      return { status: 422, body: { ...result, kept: 'the previous handler module keeps serving' } };
    },
  };
}
