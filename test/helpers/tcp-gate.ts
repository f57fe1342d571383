import net from 'node:net';

/**
 * A TCP relay in front of a server (PostgreSQL) that can stop letting new connections through,
 * as a network partition does, while the connections already made keep working. It knows the
 * local ports of its own connections to the server, which is how the server (pg_stat_activity's
 * client_port) tells which of its sessions came through here.
 */
export type TcpGate = {
  port: number;
  /** New connections are cut at once (the client sees its connection fail); open ones carry on. */
  refuseNew(): void;
  acceptNew(): void;
  /** The server is gone: every relayed connection is cut and new ones are refused. */
  cutAll(): void;
  /** Local ports of the relayed connections to the target that are open now. */
  targetSidePorts(): number[];
  close(): Promise<void>;
};

export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  let refusing = false;
  const relayed = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = net.connect(target.port, target.host);
    relayed.add(upstream);
    const drop = () => {
      relayed.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    refuseNew: () => void (refusing = true),
    acceptNew: () => void (refusing = false),
    cutAll() {
      refusing = true;
      for (const socket of relayed) socket.destroy();
    },
    targetSidePorts: () => [...relayed].map((socket) => socket.localPort).filter((port): port is number => port !== undefined),
    async close() {
      for (const socket of relayed) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
