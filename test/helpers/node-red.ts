// node-red-node-test-helper, typed for our tests. Loads our nodes from their TypeScript
// sources (through tsx) together with Node-RED's own core nodes where a flow needs them.
import helper from 'node-red-node-test-helper';

helper.init(require.resolve('node-red'));

export interface TestNode {
  id: string;
  receive(msg: Record<string, unknown>): void;
  on(event: 'input', cb: (msg: Record<string, unknown>) => void): void;
  on(event: 'call:status' | 'call:error' | 'call:warn', cb: (call: { args: unknown[] }) => void): void;
  [key: string]: unknown;
}

export const nr = helper as unknown as {
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown, flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  clearFlows(): Promise<void>;
  url(): string;
};
