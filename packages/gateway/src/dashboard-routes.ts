/** The cluster dashboard page and its live feed, served by every gateway. */
import type { GatewayContext } from './context';
import { getRoute } from './http';
import type { TemplatedApp } from './uws';

export function registerDashboardRoutes(app: TemplatedApp, _ctx: GatewayContext, _adminToken?: string): void {
  getRoute(app, '/dashboard', () => ({
    body: '<!doctype html><title>Lingua</title><p>Dashboard coming soon.</p>',
    type: 'text/html; charset=utf-8',
  }));
}
