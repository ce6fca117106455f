/** The Manager: a server process that keeps dicts, lists and namespaces for every process. */
export { Manager, type ManagerOptions } from './manager';
export { DictProxy, ListProxy, NamespaceProxy } from './proxies';
